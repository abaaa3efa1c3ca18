/**
 * The agent's configuration: one zod schema, defaults in one place. Option names follow Ironic's `[vnc]` group
 * where the meaning is the same (container_provider, console_image, token_timeout, ...), so operators recognise them.
 * Sources, lowest first: defaults, the config file (YAML or JSON), BMC_CONSOLE_AGENT_<OPTION> env, CLI overrides.
 */
import { readFileSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { defaultAgentApiKeyFile, defaultAgentSocket, defaultAgentStateDir } from '@bmc-console/common/agent-paths';
import { CONSOLE_MODES } from '@bmc-console/common/contracts/direct-target';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

const defaultStateDir = (): string => defaultAgentStateDir();

/** Where the API listens: a unix socket (its file mode is the credential) or TCP (every request needs the API key). */
export type ApiListen = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

/** Parses `unix:/abs/path.sock` or `tcp://host:port` (IPv6 in brackets); undefined when it is neither. */
export function parseApiListen(value: string): ApiListen | undefined {
  if (value.startsWith('unix:')) {
    const path = value.slice('unix:'.length);
    return isAbsolute(path) && Buffer.byteLength(path) < 104 ? { kind: 'unix', path } : undefined; // sun_path is ~104-108 bytes
  }
  const m = /^tcp:\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  if (!m || Number(m[2]) > 65535) return undefined;
  return { kind: 'tcp', host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

const defaultQuadletDir = (): string =>
  join(process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'containers', 'systemd');

const seconds = (min: number) => z.number().int().min(min, `expected a whole number of seconds >= ${min}`);

const agentConfigObject = z
  .object({
    /** podman | systemd | kubernetes | fake, or the name of an npm package that exports a provider factory. */
    container_provider: z.string().min(1).default('podman'),
    console_image: z.string().min(1).default('localhost/bmc-console:latest'),
    /** Seconds a console URL's token stays valid. */
    token_timeout: seconds(10).default(600),
    /** Seconds to wait for the console's RFB greeting after the container started. */
    wait_for_ready_timeout: seconds(1).default(30),
    /** The proxy's viewer page; console URLs are `<public_url>?path=websockify%3Fnode%3D<uuid>%26token%3D<token>`. */
    public_url: z
      .string()
      .url('expected the proxy viewer URL, e.g. "https://console.example.com/"')
      .default('http://127.0.0.1:6090/'),
    read_only: z.boolean().default(false),
    /** A per-console random VNC password that x11vnc requires and the proxy answers. */
    vnc_password: z.boolean().default(true),
    /** The proxy records every session of a console (default for start's `record`); the agent only passes it on. */
    record_sessions: z.boolean({ error: 'expected true or false' }).default(false),
    display_width: z.number().int().min(320).max(7680).optional(),
    display_height: z.number().int().min(320).max(7680).optional(),
    /**
     * Seconds a console keeps the BMC's KVM open after its last viewer left (KVM_RELEASE_AFTER; the image's default,
     * 60, when unset); 0 releases it at once, "always" keeps it open from start to stop.
     */
    kvm_release_after: z
      .union([z.number().int().min(0).max(86_400), z.literal('always')], {
        error: 'expected a whole number of seconds from 0 to 86400, or "always"',
      })
      .optional(),
    /**
     * How consoles are served when a start does not say (docs/direct.md): `container` (a console container),
     * `direct` (no container: the proxy, or the agent's RFB relay, logs in to the BMC; OpenBMC, XCC3, iDRAC9 only) or
     * `auto` (Redfish discovery picks direct where the BMC supports it and a trial login works, else a container).
     */
    console_mode: z.enum(CONSOLE_MODES, { error: `expected one of ${CONSOLE_MODES.join(', ')}` }).default('container'),
    /** Seconds each step of a direct console may take (a BMC request, the KVM socket's opening, its RFB handshake). */
    direct_timeout: seconds(1).max(300, 'expected at most 300 seconds').default(15),
    /**
     * Where `serve` listens for direct consoles' RFB relays (one ephemeral TCP port per console, plain RFB with
     * security None, for viewers that need host:port such as Ironic's own noVNC proxy); "" serves none. A console
     * started by the CLI while no `serve` runs has no relay (no host/port) until `serve` starts. The relays' BMC
     * logins are released kvm_release_after seconds (60 when unset) after the last viewer; "always": kept until stop.
     */
    direct_relay_address: z.string().default('127.0.0.1'),
    state_dir: z.string().min(1).default(defaultStateDir),
    /** Identifies this agent on its containers (label/selector), so stop-all and reconcile touch only its own. */
    agent_host: z
      .string()
      .min(1)
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'expected a host name (letters, digits, . _ -)')
      .default(() => hostname().split('.')[0] || 'localhost'),
    /** Ironic stops every console when the conductor starts and stops; here it is a choice (off: consoles survive). */
    stop_all_on_start: z.boolean().default(false),
    stop_all_on_shutdown: z.boolean().default(false),
    /** Seconds between reconcile passes in `serve` (dead containers cleaned up, unknown ones stopped); 0 = only at start. */
    reconcile_interval: z.number().int().min(0).default(60),

    // podman / docker CLI provider
    container_executable: z.string().min(1).default('podman'),
    /** Exported as CONTAINER_HOST and DOCKER_HOST to the CLI. */
    container_host: z.string().optional(),
    /** Address the console's port 5900 is published on (random host port). Keep it on loopback. */
    container_publish_address: z.string().min(1).default('127.0.0.1'),
    /**
     * podman --network of a console. slirp4netns (without allow_host_loopback) gives each console its own user-mode
     * stack: the BMC page it renders reaches the network like the host does, but not the host's loopback (agent API,
     * published VNC ports) nor other consoles.
     */
    container_network: z.string().min(1).default('slirp4netns'),
    /**
     * How secrets reach the container: a podman secret mounted as a file (default with podman: hidden from
     * `podman inspect`) or env passthrough (value only in the CLI's environment; the default with docker).
     */
    container_credentials: z.enum(['env', 'secret']).optional(),
    container_shm_size: z
      .string()
      .regex(/^\d+[kmg]?$/i, 'expected a size like 256m')
      .default('512m'),
    container_memory: z
      .string()
      .regex(/^\d+[kmg]?$/i, 'expected a size like 1g')
      .default('1536m'),
    container_cpus: z
      .string()
      .regex(/^\d+(\.\d+)?$/, 'expected a number of CPUs like 1.5')
      .default('2'),
    container_pids_limit: z.number().int().min(16).default(1024),
    container_pull: z.enum(['never', 'missing', 'always', 'newer']).default('missing'),
    /**
     * Consoles kept started before any node asks (podman provider): a start takes one (~1 s to the KVM instead of
     * ~3 s) and the next is started behind it. Each waits with its own Chromium: a console's memory (~180 MiB) and
     * a little CPU. Serves redfish-graphical starts with the agent's read_only, a VNC password and no CA bundle file.
     */
    container_pool_size: z
      .number()
      .int()
      .min(0, 'expected a whole number >= 0')
      .max(100, 'expected at most 100')
      .default(0),
    /** Seconds after a start before `serve` refills the pool: not while the console just taken logs in to its BMC. */
    container_pool_refill_delay: seconds(1).max(3600, 'expected at most 3600 seconds').default(5),

    // systemd (Quadlet) provider
    systemd_container_dir: z.string().min(1).default(defaultQuadletDir),
    systemd_container_publish_port: z.string().min(1).default('127.0.0.1::5900'),
    systemctl_executable: z.string().min(1).default('systemctl'),

    // kubernetes provider
    kubernetes_container_template: z.string().optional(),
    kubernetes_namespace: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'expected a Kubernetes namespace name')
      .default('bmc-console'),
    kubernetes_pod_timeout: seconds(1).default(120),
    /** podIP (reachable inside the cluster, where the proxy runs) or hostIP (with a hostPort in the template). */
    kubernetes_address: z.enum(['podIP', 'hostIP']).default('podIP'),
    /** Labels of the proxy's pods: when set, a NetworkPolicy lets only them reach the console. */
    kubernetes_proxy_selector: z.record(z.string(), z.string()).optional(),
    kubectl_executable: z.string().min(1).default('kubectl'),

    // HTTP API
    /**
     * `unix:/path.sock` (default: the socket from agent-paths, in a 0750 directory, mode 0660) or, only when set
     * explicitly, `tcp://host:port`, where every request must carry `Authorization: Bearer <api key>`.
     */
    api_listen: z
      .string()
      .refine(
        (v) => parseApiListen(v) !== undefined,
        'expected "unix:/absolute/path.sock" (shorter than 104 bytes) or "tcp://host:port"',
      )
      .optional(),
    /** The key a TCP listener requires; created (32 random bytes, base64url, mode 0600) on the first TCP start. */
    api_key_file: z.string().refine(isAbsolute, 'expected an absolute file path').optional(),
    /** PEM certificate and key: the TCP listener speaks HTTPS (both or neither; TCP only). */
    api_tls_cert_file: z.string().min(1).optional(),
    api_tls_key_file: z.string().min(1).optional(),
    /** Host header values accepted besides loopback names and the listen address (DNS rebinding guard). */
    api_allowed_hosts: z
      .array(
        z
          .string()
          .min(1)
          .regex(/^[^\s/]+$/, 'expected a host name or address, without scheme or path'),
      )
      .default([]),
    /** APP_INFO `verify_ca` file paths are accepted only inside this directory. */
    ca_bundle_dir: z.string().refine(isAbsolute, 'expected an absolute directory path').default('/etc/bmc-console/ca'),
  })
  .strict();

/** The schema with the defaults that depend on state_dir (API socket, key file) filled in. */
export const agentConfigSchema = agentConfigObject
  .superRefine((c, ctx) => {
    const tcp = c.api_listen !== undefined && parseApiListen(c.api_listen)?.kind === 'tcp';
    if ((c.api_tls_cert_file === undefined) !== (c.api_tls_key_file === undefined))
      ctx.addIssue({
        code: 'custom',
        path: [c.api_tls_cert_file ? 'api_tls_key_file' : 'api_tls_cert_file'],
        message: 'set both api_tls_cert_file and api_tls_key_file, or neither',
      });
    else if (c.api_tls_cert_file !== undefined && !tcp)
      ctx.addIssue({
        code: 'custom',
        path: ['api_tls_cert_file'],
        message: 'TLS applies only to a "tcp://host:port" api_listen',
      });
  })
  .transform((c) => ({
    ...c,
    api_listen: c.api_listen ?? `unix:${defaultAgentSocket(c.state_dir)}`,
    api_key_file: c.api_key_file ?? defaultAgentApiKeyFile(c.state_dir),
  }));

export type AgentConfig = z.infer<typeof agentConfigSchema>;
export type AgentConfigInput = z.input<typeof agentConfigSchema>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const ENV_PREFIX = 'BMC_CONSOLE_AGENT_';

/** Env values are strings; coerce them by the option's default type so `BMC_CONSOLE_AGENT_TOKEN_TIMEOUT=60` works. */
function fromEnv(env: Record<string, string | undefined>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const shape = agentConfigObject.shape as Record<string, z.ZodType>;
  for (const key of Object.keys(shape)) {
    const raw = env[ENV_PREFIX + key.toUpperCase()];
    if (raw === undefined) continue;
    const probe = shape[key]!.safeParse(undefined);
    const sample = probe.success ? probe.data : undefined;
    if (key === 'kvm_release_after')
      out[key] = raw.trim() === '' ? undefined : /^\d+$/.test(raw.trim()) ? Number(raw) : raw.trim();
    else if (typeof sample === 'number' || ['display_width', 'display_height'].includes(key))
      out[key] = raw.trim() === '' ? undefined : Number(raw);
    else if (typeof sample === 'boolean') out[key] = /^(1|true|yes)$/i.test(raw.trim());
    else if (Array.isArray(sample))
      out[key] = raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    else if (key === 'kubernetes_proxy_selector') out[key] = safeJson(raw);
    else out[key] = raw;
  }
  return out;
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  let data: unknown;
  try {
    data = parseYaml(text) ?? {}; // YAML is a superset of JSON
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid YAML/JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    throw new ConfigError(`config file ${file} must hold a mapping of option: value`);
  // Accept Ironic's layout too: options under a `vnc:` key.
  const rec = data as Record<string, unknown>;
  return typeof rec.vnc === 'object' && rec.vnc !== null && Object.keys(rec).length === 1
    ? (rec.vnc as Record<string, unknown>)
    : rec;
}

export interface LoadConfigOptions {
  file?: string;
  env?: Record<string, string | undefined>;
  overrides?: AgentConfigInput;
}

/** Validates everything at once; the error names each bad option and what was expected. */
export function loadConfig(opts: LoadConfigOptions = {}): AgentConfig {
  const env = opts.env ?? process.env;
  const file = opts.file ?? env.BMC_CONSOLE_AGENT_CONFIG;
  const merged = { ...(file ? readConfigFile(file) : {}), ...fromEnv(env), ...stripUndefined(opts.overrides ?? {}) };
  const r = agentConfigSchema.safeParse(merged);
  if (!r.success) {
    const problems = r.error.issues.map((i) => {
      const key = i.path.join('.');
      if (i.code === 'unrecognized_keys') {
        const replaced = i.keys.filter((k) => ['api_host', 'api_port', 'api_socket'].includes(k));
        return `unknown option(s) ${i.keys.join(', ')}${replaced.length ? ' (the API listener is now api_listen: "unix:/path.sock" or "tcp://host:port")' : ''}`;
      }
      return `${key || 'config'}: ${i.message}`;
    });
    throw new ConfigError(`invalid configuration${file ? ` (${file})` : ''}: ${problems.join('; ')}`);
  }
  return r.data;
}

function stripUndefined(o: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
