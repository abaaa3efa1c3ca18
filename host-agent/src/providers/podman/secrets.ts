/**
 * Podman secrets for a console's APP_INFO and VNC password: created with the value in the podman CLI's environment
 * (never argv), mounted into the container as files its user alone may read, named by `<NAME>_FILE` (the image
 * reads those, common/src/console-env.ts; the names are common/src/contracts/secret-names.ts), and removed when the
 * console stops.
 * One place for the podman provider (`--secret`) and the systemd provider (Quadlet `Secret=`).
 */
import {
  secretFileVariable,
  SECRET_VARIABLES,
  type SecretFileVariable,
  type SecretVariable,
} from '@bmc-console/common/contracts/secret-names';
import type { CommandResult } from '../../run-command.js';
import { consoleName, LABEL_AGENT } from '../console-names.js';

/** The console image's user (console, uid 1000): the files are its own and read-only. */
const CONSOLE_UID = 1000;

export interface SecretMount {
  variable: SecretVariable;
  /** The podman secret's name. */
  secret: string;
  /** `--secret` / Quadlet `Secret=` value. A file mount, not type=env: `podman inspect` lists every environment value. */
  option: string;
  /** `<NAME>_FILE` and the path the file is mounted at. */
  fileVariable: SecretFileVariable;
  path: string;
}

export function secretMount(node: string, variable: SecretVariable): SecretMount {
  const file = variable.toLowerCase().replace(/_/g, '-');
  const secret = `${consoleName(node)}-${file}`;
  return {
    variable,
    secret,
    option: `${secret},type=mount,target=${file},uid=${CONSOLE_UID},gid=${CONSOLE_UID},mode=0400`,
    fileVariable: secretFileVariable(variable),
    path: `/run/secrets/${file}`,
  };
}

export type PodmanCli = (args: string[], extraEnv?: Record<string, string>) => Promise<CommandResult>;

/**
 * Creates the secrets for the secret variables `env` holds, side by side. One left by an earlier run ("in use",
 * "exists") is removed and created again, after `beforeReplace` (e.g. removing the stale container that holds it).
 */
export async function createPodmanSecrets(
  cli: PodmanCli,
  node: string,
  env: Record<string, string>,
  agentHost: string,
  beforeReplace?: () => Promise<unknown>,
): Promise<SecretMount[]> {
  const mounts: SecretMount[] = [];
  await Promise.all(
    SECRET_VARIABLES.map(async (variable) => {
      const value = env[variable];
      if (value === undefined) return;
      const m = secretMount(node, variable);
      // `--env NAME VAR` reads the value from the CLI's environment (stdin must be a FIFO for `-`, node gives a socket).
      const create = () =>
        cli(
          ['secret', 'create', '--env', '--label', `${LABEL_AGENT}=${agentHost}`, m.secret, 'BMC_CONSOLE_SECRET_VALUE'],
          { BMC_CONSOLE_SECRET_VALUE: value },
        );
      let r = await create();
      if (r.code !== 0 && /in use|exists/i.test(r.stderr)) {
        await beforeReplace?.();
        await cli(['secret', 'rm', m.secret]);
        r = await create();
      }
      if (r.code !== 0) throw new Error(`podman secret create ${m.secret} failed: ${r.stderr.trim()}`);
      mounts.push(m);
    }),
  );
  return SECRET_VARIABLES.flatMap((v) => mounts.filter((m) => m.variable === v));
}

/** Removes the console's secrets; one that is not there is fine. */
export async function removePodmanSecrets(cli: PodmanCli, node: string): Promise<void> {
  await Promise.all(
    SECRET_VARIABLES.map((v) => cli(['secret', 'rm', secretMount(node, v).secret]).catch(() => undefined)),
  );
}
