import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { waitForRfbGreeting } from '@bmc-console/common/rfb/client';

/**
 * The host agent podman provider's `podman run` flags at its defaults (host-agent/src/providers/podman/provider.ts),
 * without name, labels, port and environment: for the benchmarks and probes that start a console with plain podman,
 * so that what they measure is the console the agent would start.
 */
export const CONSOLE_RUN_FLAGS: readonly string[] = [
  '--detach',
  '--rm',
  '--init',
  '--network',
  'slirp4netns',
  '--shm-size',
  '512m',
  '--memory',
  '1536m',
  '--cpus',
  '2',
  '--pids-limit',
  '1024',
  '--pull',
  'never',
];

/** podman's environment for this repository: CONTAINERS_CONF names deploy/containers.conf (docs/platform). */
export function podmanEnvFor(repoRoot: string): NodeJS.ProcessEnv {
  return { ...process.env, CONTAINERS_CONF: join(repoRoot, 'deploy/containers.conf') };
}

const repoRoot = join(import.meta.dirname, '..', '..');

export interface ConsoleContainer {
  name: string;
  /** Published on 127.0.0.1 as the console's 5900. */
  port: number;
  image: string;
  /** Passed through podman's environment (`--env NAME` without a value), so no value is on podman's argv. */
  env: Record<string, string>;
  /** More `podman run` flags (a probe's variant). */
  args?: readonly string[];
  /** Names the console in an error (a probe's variant). */
  label?: string;
}

/** Starts a console with CONSOLE_RUN_FLAGS and returns once its x11vnc answers (RFB greeting). */
export async function startConsoleContainer(c: ConsoleContainer): Promise<void> {
  const args = [
    'run',
    ...CONSOLE_RUN_FLAGS,
    '--name',
    c.name,
    '--publish',
    `127.0.0.1:${c.port}:5900`,
    ...Object.keys(c.env).flatMap((k) => ['--env', k]),
    ...(c.args ?? []),
    c.image,
  ];
  await new Promise<void>((resolve, reject) =>
    execFile('podman', args, { env: { ...podmanEnvFor(repoRoot), ...c.env } }, (err, _o, stderr) =>
      err ? reject(new Error(`${c.label ?? c.name}: ${String(stderr).trim() || err.message}`)) : resolve(),
    ),
  );
  await waitForRfbGreeting('127.0.0.1', c.port, 120_000);
}
