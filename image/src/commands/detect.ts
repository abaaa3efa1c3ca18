/**
 * `bmc-console detect`: Redfish discovery from the command line.
 *
 *   bmc-console detect --url https://bmc [--username U] [--password-file F | env BMC_PASSWORD] [--verify-ca true|false|PATH]
 *   bmc-console detect --fixture DIR
 *
 * Prints the Discovery as JSON on stdout. Exit codes: 0 detected (also when the family is "unknown"), 2 usage error
 * (the message names the flag), 3 the BMC could not be read (unreachable, TLS, authentication, not Redfish).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { discover } from '@bmc-console/common/discovery/discover';
import { createRedfishClient } from '@bmc-console/common/redfish/client';
import { RedfishError } from '@bmc-console/common/redfish/error';
import { FixtureSource } from '@bmc-console/common/redfish/fixture-source';

export const EXIT_OK = 0;
export const EXIT_USAGE = 2;
export const EXIT_BMC = 3;

const USAGE = `usage: bmc-console detect --url https://BMC[:PORT][/redfish/v1] [--username USER] [--password-file FILE]
                          [--verify-ca true|false|CA_BUNDLE] [--auth auto|session|basic] [--timeout SECONDS]
       bmc-console detect --fixture DIR
The password is read from --password-file or the BMC_PASSWORD environment variable (preferred: command lines are
visible to every user in ps); --password also works. BMC_USERNAME is the default for --username.
Prints {vendor, family, generation, managerId, evidence, ...} as JSON. Exit codes: 0 detected (also "unknown"),
2 usage error, 3 BMC unreachable, TLS, authentication or protocol error.`;

class UsageError extends Error {}

/** The command's options, with their defaults in one place. */
const Options = z
  .object({
    url: z.string().optional(),
    fixture: z.string().optional(),
    username: z.string().default(''),
    password: z.string().optional(),
    'password-file': z.string().optional(),
    'verify-ca': z.string().default('true'),
    auth: z.enum(['auto', 'session', 'basic'], { error: () => 'expected auto, session or basic' }).default('auto'),
    timeout: z.coerce
      .number({ error: () => 'expected a number of seconds' })
      .positive({ error: 'expected a positive number of seconds' })
      .default(30),
  })
  .strict();
type Options = z.infer<typeof Options>;

/** Where the command writes; tests pass their own. */
export interface DetectIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const processIo: DetectIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

export async function main(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  io: DetectIo = processIo,
): Promise<number> {
  let target: Target;
  try {
    const values = parseFlags(argv);
    if (values === 'help') {
      io.out(`${USAGE}\n`);
      return EXIT_OK;
    }
    target = toTarget(values, env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`bmc-console detect: ${err.message}\n(bmc-console detect --help shows the usage)\n`);
    return EXIT_USAGE;
  }

  const source =
    target.kind === 'fixture'
      ? new FixtureSource(target.dir)
      : createRedfishClient(target.bmc, { auth: target.auth, timeoutMs: target.timeoutMs });
  try {
    const d = await discover(source);
    const out = {
      vendor: d.vendor,
      family: d.family,
      generation: d.generation,
      managerId: d.managerId,
      evidence: d.evidence,
      firmwareVersion: d.firmwareVersion ?? null,
      managerPath: d.managerPath ?? null,
      systemPath: d.systemPath ?? null,
    };
    io.out(`${JSON.stringify(out, null, 2)}\n`);
    return EXIT_OK;
  } catch (err) {
    if (!(err instanceof RedfishError)) throw err;
    io.err(`bmc-console detect: ${err.message}\n  hint: ${HINTS[err.kind]}\n`);
    return EXIT_BMC;
  } finally {
    if (source !== undefined && 'logout' in source) {
      await source.logout();
      source.close();
    }
  }
}

const HINTS: Record<RedfishError['kind'], string> = {
  unreachable: 'check the address and port, and that this host can reach the BMC',
  tls: 'the BMC certificate is not trusted: pass --verify-ca CA_BUNDLE, or --verify-ca false to skip verification',
  auth: 'check the user name and password (and that the account may use Redfish)',
  http: 'the BMC answered with an error; is the Redfish service enabled and the root prefix right?',
  protocol: 'the answer is not Redfish: is this the BMC address (and not a web UI behind a proxy)?',
};

function parseFlags(argv: string[]): Record<string, string | undefined> | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        url: { type: 'string' },
        fixture: { type: 'string' },
        username: { type: 'string' },
        password: { type: 'string' },
        'password-file': { type: 'string' },
        'verify-ca': { type: 'string' },
        auth: { type: 'string' },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    // parseArgs names the flag: "Unknown option '--foo'", "Option '--url <value>' argument missing".
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const { help, ...rest } = parsed.values;
  if (help) return 'help';
  return rest as Record<string, string | undefined>;
}

type Target =
  | { kind: 'fixture'; dir: string }
  | {
      kind: 'bmc';
      bmc: { origin: string; rootPrefix: string; username: string; password: string; verifyCa: boolean | string };
      auth: Options['auth'];
      timeoutMs: number;
    };

function toTarget(values: Record<string, string | undefined>, env: NodeJS.ProcessEnv): Target {
  const result = Options.safeParse({ ...values, username: values.username ?? env.BMC_USERNAME });
  if (!result.success) {
    const issue = result.error.issues[0];
    const flag = issue?.path[0];
    throw new UsageError(`${flag === undefined ? 'options' : `--${String(flag)}`}: ${issue?.message ?? 'invalid'}`);
  }
  const o = result.data;
  if (o.url !== undefined && o.fixture !== undefined)
    throw new UsageError('--url and --fixture: give one of them, not both');
  if (o.fixture !== undefined) {
    if (!existsSync(o.fixture) || !statSync(o.fixture).isDirectory())
      throw new UsageError(`--fixture: expected a capture directory, "${o.fixture}" is not one`);
    return { kind: 'fixture', dir: o.fixture };
  }
  if (o.url === undefined) throw new UsageError('--url (or --fixture) is required');
  return {
    kind: 'bmc',
    bmc: { ...parseUrl(o.url), username: o.username, password: password(o, env), verifyCa: verifyCa(o['verify-ca']) },
    auth: o.auth,
    timeoutMs: o.timeout * 1000,
  };
}

/** Like Ironic's redfish_address: scheme://authority is the BMC, a path is the root prefix; https when no scheme. */
function parseUrl(raw: string): { origin: string; rootPrefix: string } {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    throw new UsageError('--url: expected https://HOST[:PORT][/ROOT_PREFIX]');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:')
    throw new UsageError(`--url: expected an https:// URL, got ${u.protocol}`);
  if (u.username || u.password)
    throw new UsageError('--url: must not contain user:password@; use --username and --password-file or BMC_PASSWORD');
  const path = u.pathname.replace(/\/+$/, '');
  return { origin: u.origin, rootPrefix: path === '' ? '/redfish/v1' : path };
}

function password(o: Options, env: NodeJS.ProcessEnv): string {
  if (o.password !== undefined && o['password-file'] !== undefined)
    throw new UsageError('--password and --password-file: give one of them, not both');
  const file = o['password-file'];
  if (file !== undefined) {
    try {
      // One trailing newline is the file's, not the password's.
      return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new UsageError(
        `--password-file: cannot read "${file}" (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
      );
    }
  }
  return o.password ?? env.BMC_PASSWORD ?? '';
}

function verifyCa(value: string): boolean | string {
  if (/^(true|yes|1)$/i.test(value)) return true;
  if (/^(false|no|0)$/i.test(value)) return false;
  if (!existsSync(value))
    throw new UsageError(`--verify-ca: expected true, false or the path of a CA bundle; "${value}" does not exist`);
  return value;
}
