/**
 * The console image's environment contract, shared by the image (which reads it) and the host agent
 * (which writes it). It is Ironic's contract (APP, APP_INFO, READ_ONLY, DISPLAY_WIDTH/HEIGHT) plus a few
 * optional additions of ours; an image started by Ironic's providers works unchanged.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { secretFileVariable, SECRET_VARIABLES } from './contracts/secret-names.js';

export const APPS = ['fake', 'redfish-graphical'] as const;
export type App = (typeof APPS)[number];

/** Defaults, in one place. */
export const CONSOLE_DEFAULTS = {
  app: 'fake' as App,
  displayWidth: 1280,
  displayHeight: 960,
  readOnly: false,
  vncPort: 5900,
  rootPrefix: '/redfish/v1',
  keyDelayMs: 0,
  /** Seconds the KVM stays open after the last VNC viewer left (env KVM_RELEASE_AFTER). */
  kvmReleaseAfterS: 60,
  /** Where `bmc-console assign` finds a console started with AWAIT_APP_INFO (env ASSIGN_SOCKET). */
  assignSocket: '/tmp/bmc-console-assign.sock',
  /** Largest CA bundle an assignment carries (a pooled console cannot have the bundle's file mounted). */
  assignCaBundleMaxBytes: 512 * 1024,
} as const;

/**
 * What is wrong with a CA bundle's text for an assignment (a pooled console), or undefined: the agent asks before
 * it sends one, the console when it takes one.
 */
export function caBundleProblem(text: string): string | undefined {
  if (Buffer.byteLength(text) > CONSOLE_DEFAULTS.assignCaBundleMaxBytes)
    return `expected at most ${CONSOLE_DEFAULTS.assignCaBundleMaxBytes} bytes`;
  if (!text.includes('-----BEGIN CERTIFICATE-----')) return 'expected PEM certificates (-----BEGIN CERTIFICATE-----)';
  return undefined;
}

/** Ironic's `redfish_auth_type` values (the Redfish client's `auth`). */
export const AUTH_TYPES = ['auto', 'basic', 'session'] as const;

/**
 * APP_INFO as Ironic's redfish-graphical interface sends it: `redfish_utils.parse_driver_info(node)`, whose keys are
 * `address` (with scheme), `system_id`, `username`, `password`, `verify_ca` (bool or CA bundle path), `auth_type`,
 * `node_uuid`, and optionally `root_prefix`, `tls_min_version`, `tls_ciphers` and
 * `firmware_update_unresponsive_bmc_wait`. The console uses the first seven (system_id picks the host when a BMC
 * has several); other keys pass through and are logged by name only (unknownAppInfoKeys).
 */
export const appInfoSchema = z
  .object({
    address: z.string().min(1, 'expected the BMC address, e.g. "https://10.0.0.5"').optional(),
    root_prefix: z.string().optional(),
    username: z.string().optional(),
    password: z.string().optional(),
    verify_ca: z.union([z.boolean(), z.string().min(1, 'expected true, false or the path of a CA bundle')]).optional(),
    /** The host's ComputerSystem, as a path ("/redfish/v1/Systems/System.Embedded.1") or an id ("1"). */
    system_id: z.string().min(1, 'expected the ComputerSystem path, e.g. "/redfish/v1/Systems/1"').optional(),
    auth_type: z.enum(AUTH_TYPES, { message: `expected one of ${AUTH_TYPES.join(', ')}` }).optional(),
    /** Shown on the status page and the emulator's host screen. */
    node_uuid: z.string().optional(),
    /** Ironic's TLS options for its own Redfish client: accepted, not used (Chromium and Node pick TLS themselves). */
    tls_min_version: z.string().optional(),
    tls_ciphers: z.string().optional(),
    /** Ironic's firmware-update wait: accepted, not used by a console. */
    firmware_update_unresponsive_bmc_wait: z.number().optional(),
    /** Ours: delay in ms between typed keys, since keystrokes can be dropped on the VNC->X11->browser->BMC path. */
    key_delay_ms: z.number().int().min(0).max(1000).optional(),
  })
  .passthrough();
export type AppInfo = z.infer<typeof appInfoSchema>;

/** APP_INFO keys this contract knows (Ironic's and ours). */
const APP_INFO_KEYS: readonly string[] = Object.keys(appInfoSchema.shape);

/** Keys of an APP_INFO nobody reads: ignored, and logged by name only (their values could be anything, secrets too). */
export function unknownAppInfoKeys(info: Record<string, unknown>): string[] {
  return Object.keys(info)
    .filter((k) => !APP_INFO_KEYS.includes(k))
    .sort();
}

/** Ironic's `address`: scheme://authority only, https assumed when no scheme is given. */
function isBmcAddress(address: string): boolean {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(address) ? address : `https://${address}`;
  try {
    const u = new URL(withScheme);
    return (
      (u.protocol === 'https:' || u.protocol === 'http:') &&
      u.hostname !== '' &&
      !/\s/.test(address) &&
      (u.pathname === '/' || u.pathname === '') &&
      !u.search &&
      !u.hash &&
      !u.username
    );
  } catch {
    return false;
  }
}

/** Where the BMC is and how to reach it, from APP_INFO: the image's vendor scripts and the agent's direct consoles. */
export interface BmcTarget {
  /** scheme://authority, e.g. "https://10.0.0.5" (https assumed when APP_INFO gave no scheme). */
  origin: string;
  /** Path of the Redfish service root, default "/redfish/v1". */
  rootPrefix: string;
  username: string;
  password: string;
  /** true: system trust store; false: trust this BMC's certificate only; string: path of a CA bundle. */
  verifyCa: boolean | string;
}

/** APP_INFO's verify_ca: true when absent; "true"/"false" (1/0, yes/no) strings as booleans; any other string a path. */
export function verifyCaSetting(value: AppInfo['verify_ca']): boolean | string {
  if (value === undefined || typeof value === 'boolean') return value ?? true;
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)$/i.test(value)) return false;
  return value;
}

/** APP_INFO -> where the BMC is (Ironic's parse_driver_info already split the address; https is assumed). */
export function bmcTarget(info: AppInfo): BmcTarget {
  const raw = info.address ?? '';
  const url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`);
  const prefix = info.root_prefix?.trim() || url.pathname.replace(/\/+$/, '') || '/redfish/v1';
  return {
    origin: url.origin,
    rootPrefix: prefix.startsWith('/') ? prefix : `/${prefix}`,
    username: info.username ?? '',
    password: info.password ?? '',
    verifyCa: verifyCaSetting(info.verify_ca),
  };
}

/** An APP_INFO for redfish-graphical: address, username and password are required. */
export const redfishAppInfoSchema = appInfoSchema.extend({
  address: z
    .string()
    .min(1, 'expected the BMC address, e.g. "https://10.0.0.5"')
    .refine(
      isBmcAddress,
      'expected the BMC address as https://host[:port] (or http://, or a bare host), e.g. "https://10.0.0.5"',
    ),
  username: z.string().min(1, 'expected the BMC user name'),
  password: z.string().min(1, 'expected the BMC password'),
});

/** Python renders booleans as True/False; shells and YAML say true/false/1/0. */
const boolString = (name: string) =>
  z.string().transform((s, ctx) => {
    const v = s.trim().toLowerCase();
    if (['true', '1', 'yes'].includes(v)) return true;
    if (['false', '0', 'no', ''].includes(v)) return false;
    ctx.addIssue({
      code: 'custom',
      message: `${name} must be True or False (also true/false/1/0), got ${JSON.stringify(s)}`,
    });
    return z.NEVER;
  });

const dimension = (name: string, def: number) =>
  z
    .string()
    .optional()
    .transform((s, ctx) => {
      if (s === undefined || s.trim() === '') return def;
      const n = Number(s);
      if (!Number.isInteger(n) || n < 320 || n > 7680) {
        ctx.addIssue({
          code: 'custom',
          message: `${name} must be a whole number of pixels from 320 to 7680, got ${JSON.stringify(s)}`,
        });
        return z.NEVER;
      }
      return n;
    });

export interface ConsoleEnv {
  app: App;
  appInfo: AppInfo;
  readOnly: boolean;
  displayWidth: number;
  displayHeight: number;
  /** Ours, optional: when set, x11vnc asks for this VNC password (the proxy answers it; browsers never see it). */
  vncPassword?: string;
  /** Ours: the port x11vnc listens on (env VNC_PORT, default 5900), so several consoles can share a host network. */
  vncPort: number;
  keyDelayMs: number;
  debug: boolean;
  /**
   * Ours (env KVM_RELEASE_AFTER): seconds after the last VNC viewer left before the BMC's KVM is closed and its
   * session logged out (0 = at once); 'always' keeps it open from start to stop. The KVM opens for the first viewer.
   */
  kvmReleaseAfter: number | 'always';
  /**
   * Ours (env AWAIT_APP_INFO): start Xvfb, x11vnc and Chromium now and take the node's APP_INFO (and VNC password)
   * later from `bmc-console assign`, so a pool of started consoles can serve a start in about a second.
   */
  awaitAppInfo: boolean;
  /** Ours (env ASSIGN_SOCKET): the unix socket `bmc-console assign` talks to. */
  assignSocket: string;
}

export class ConsoleEnvError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(problems.map((p) => `${p.variable}: ${p.message}`).join('; '));
    this.name = 'ConsoleEnvError';
  }
}

/**
 * Parses the container's environment. Every problem is reported at once, each naming its variable;
 * no message ever contains the password.
 */
export function parseConsoleEnv(rawEnv: Record<string, string | undefined>): ConsoleEnv {
  const problems: { variable: string; message: string }[] = [];
  const env = withSecretFiles(rawEnv, problems);

  const appRaw = (env.APP ?? CONSOLE_DEFAULTS.app).trim();
  const app = (APPS as readonly string[]).includes(appRaw) ? (appRaw as App) : undefined;
  if (!app)
    problems.push({ variable: 'APP', message: `expected one of ${APPS.join(', ')}, got ${JSON.stringify(appRaw)}` });

  const read = <T>(variable: string, schema: z.ZodType<T>, value: string | undefined, fallback: T): T => {
    if (value === undefined) return fallback;
    const r = schema.safeParse(value);
    if (r.success) return r.data;
    problems.push({ variable, message: r.error.issues[0]?.message ?? 'is invalid' });
    return fallback;
  };

  let appInfo: AppInfo = {};
  const infoRaw = env.APP_INFO?.trim() ? env.APP_INFO : '{}';
  let parsedJson: unknown;
  try {
    parsedJson = JSON.parse(infoRaw);
  } catch (err) {
    // JSON.parse's message quotes the input near the error, which may be the password: keep only the position.
    const where = /position \d+/.exec(String((err as Error).message))?.[0];
    problems.push({ variable: 'APP_INFO', message: `is not valid JSON${where ? ` (at ${where})` : ''}` });
  }
  const awaitAppInfo = read('AWAIT_APP_INFO', boolString('AWAIT_APP_INFO'), env.AWAIT_APP_INFO, false);
  if (parsedJson !== undefined) {
    // A console that waits for its node gets the node's APP_INFO later, checked then.
    const schema = app === 'redfish-graphical' && !awaitAppInfo ? redfishAppInfoSchema : appInfoSchema;
    const r = schema.safeParse(parsedJson);
    if (r.success) appInfo = r.data;
    else
      for (const issue of r.error.issues) {
        const field = issue.path.length ? `.${issue.path.join('.')}` : '';
        const message =
          issue.path.length === 0
            ? 'must be a JSON object'
            : issue.message.includes('expected')
              ? issue.message
              : `${issue.message}`;
        problems.push({ variable: `APP_INFO${field}`, message });
      }
  }

  const readOnly = read('READ_ONLY', boolString('READ_ONLY'), env.READ_ONLY, CONSOLE_DEFAULTS.readOnly);
  const displayWidth = read(
    'DISPLAY_WIDTH',
    dimension('DISPLAY_WIDTH', CONSOLE_DEFAULTS.displayWidth),
    env.DISPLAY_WIDTH,
    CONSOLE_DEFAULTS.displayWidth,
  );
  const displayHeight = read(
    'DISPLAY_HEIGHT',
    dimension('DISPLAY_HEIGHT', CONSOLE_DEFAULTS.displayHeight),
    env.DISPLAY_HEIGHT,
    CONSOLE_DEFAULTS.displayHeight,
  );
  const debug = /^(1|true|yes)$/i.test(env.DEBUG ?? '');

  let keyDelayMs = appInfo.key_delay_ms ?? CONSOLE_DEFAULTS.keyDelayMs;
  if (env.KEY_DELAY_MS !== undefined) {
    const n = Number(env.KEY_DELAY_MS);
    if (!Number.isInteger(n) || n < 0 || n > 1000)
      problems.push({
        variable: 'KEY_DELAY_MS',
        message: `must be a whole number of milliseconds from 0 to 1000, got ${JSON.stringify(env.KEY_DELAY_MS)}`,
      });
    else keyDelayMs = n;
  }

  const vncPassword = env.VNC_PASSWORD || undefined;
  if (vncPassword !== undefined && vncPassword.length > 8)
    // VNC authentication uses only the first 8 bytes; refusing longer ones avoids a false sense of strength.
    problems.push({
      variable: 'VNC_PASSWORD',
      message: 'must be at most 8 characters (VNC authentication uses only 8 bytes)',
    });
  // x11vnc -passwdfile reads a line starting with # as a comment (and exits: no password), and a line break would
  // split the password.
  if (vncPassword !== undefined && (vncPassword.startsWith('#') || /[\r\n]/.test(vncPassword)))
    problems.push({
      variable: 'VNC_PASSWORD',
      message: 'must not start with "#" or hold a line break (x11vnc would not read it)',
    });

  let vncPort: number = CONSOLE_DEFAULTS.vncPort;
  if (env.VNC_PORT !== undefined && env.VNC_PORT.trim() !== '') {
    const n = Number(env.VNC_PORT);
    if (!Number.isInteger(n) || n < 1 || n > 65535)
      problems.push({
        variable: 'VNC_PORT',
        message: `must be a TCP port number from 1 to 65535, got ${JSON.stringify(env.VNC_PORT)}`,
      });
    else vncPort = n;
  }

  let kvmReleaseAfter: number | 'always' = CONSOLE_DEFAULTS.kvmReleaseAfterS;
  const release = env.KVM_RELEASE_AFTER?.trim();
  if (release !== undefined && release !== '') {
    const n = Number(release);
    if (release.toLowerCase() === 'always') kvmReleaseAfter = 'always';
    else if (!/^\d+$/.test(release) || n > 86_400)
      problems.push({
        variable: 'KVM_RELEASE_AFTER',
        message: `must be a whole number of seconds from 0 to 86400, or "always", got ${JSON.stringify(env.KVM_RELEASE_AFTER)}`,
      });
    else kvmReleaseAfter = n;
  }

  const assignSocket = env.ASSIGN_SOCKET?.trim() || CONSOLE_DEFAULTS.assignSocket;
  if (!assignSocket.startsWith('/'))
    problems.push({
      variable: 'ASSIGN_SOCKET',
      message: `must be an absolute path, got ${JSON.stringify(env.ASSIGN_SOCKET)}`,
    });

  if (problems.length) throw new ConsoleEnvError(problems);
  return {
    app: app!,
    appInfo,
    readOnly,
    displayWidth,
    displayHeight,
    vncPort,
    keyDelayMs,
    debug,
    kvmReleaseAfter,
    awaitAppInfo,
    assignSocket,
    ...(vncPassword ? { vncPassword } : {}),
  };
}

/** The inverse, for providers: the environment a console container gets. Secrets are in APP_INFO / VNC_PASSWORD. */
export function consoleEnvironment(opts: {
  app: App;
  appInfo: AppInfo;
  readOnly: boolean;
  displayWidth?: number;
  displayHeight?: number;
  kvmReleaseAfter?: number | 'always';
  vncPassword?: string;
}): Record<string, string> {
  const env: Record<string, string> = {
    APP: opts.app,
    APP_INFO: JSON.stringify(opts.appInfo),
    READ_ONLY: opts.readOnly ? 'True' : 'False',
  };
  if (opts.displayWidth) env.DISPLAY_WIDTH = String(opts.displayWidth);
  if (opts.displayHeight) env.DISPLAY_HEIGHT = String(opts.displayHeight);
  if (opts.kvmReleaseAfter !== undefined) env.KVM_RELEASE_AFTER = String(opts.kvmReleaseAfter);
  if (opts.vncPassword) env.VNC_PASSWORD = opts.vncPassword;
  return env;
}

/** The parts of APP_INFO that are safe to log: known keys (password redacted), unknown keys by name only. */
export function describeAppInfo(info: AppInfo): Record<string, unknown> {
  const known: Record<string, unknown> = {};
  for (const k of APP_INFO_KEYS) if (k !== 'password' && info[k] !== undefined) known[k] = info[k];
  const ignored = unknownAppInfoKeys(info);
  return {
    ...known,
    password: info.password === undefined ? undefined : '[redacted]',
    ...(ignored.length ? { ignoredKeys: ignored } : {}),
  };
}

/** Secret variables that may instead be given as a file, `<NAME>_FILE` (a podman or Kubernetes secret mount). */
export const SECRET_FILE_VARIABLES = SECRET_VARIABLES;

/**
 * Reads `APP_INFO_FILE` / `VNC_PASSWORD_FILE` into `APP_INFO` / `VNC_PASSWORD` (over any value those have).
 * A mounted secret keeps the values out of `podman inspect`, which shows every environment variable.
 */
function withSecretFiles(
  env: Record<string, string | undefined>,
  problems: { variable: string; message: string }[],
): Record<string, string | undefined> {
  const out = { ...env };
  for (const name of SECRET_FILE_VARIABLES) {
    const file = env[secretFileVariable(name)];
    // The file wins: the image's ENV sets Ironic's default APP_INFO={} that a mounted secret must override.
    if (!file) continue;
    try {
      out[name] = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      problems.push({
        variable: secretFileVariable(name),
        message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
      });
    }
  }
  return out;
}
