import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { defaultAgentApiKeyFile, defaultAgentSocket } from '@bmc-console/common/agent-paths';
import { parse as parseYaml } from 'yaml';
import { VIEWER_ROLES } from '@bmc-console/common/contracts/agent-api';
import { z } from 'zod';

/**
 * Ironic's REST API, for tokenSource "ironic": the proxy's service account checks viewers' tokens against the
 * node's console URL there. Keystone authentication is not supported (noauth or http_basic only).
 */
const IronicConfigSchema = z
  .object({
    /** Ironic's API endpoint, e.g. http://ironic.example.org:6385 (a path prefix is kept); no credentials in it. */
    url: z.string().refine((u) => {
      try {
        const p = new URL(u);
        return (
          /^https?:$/.test(p.protocol) && p.username === '' && p.password === '' && p.search === '' && p.hash === ''
        );
      } catch {
        return false;
      }
    }, 'expected http(s)://host[:port][/prefix] without credentials, query or fragment (credentials go in username and passwordFile)'),
    /** Ironic's [DEFAULT]auth_strategy as the proxy's account meets it. */
    authStrategy: z
      .enum(['noauth', 'http_basic'], { error: 'expected "noauth" or "http_basic" (keystone is not supported)' })
      .default('noauth'),
    /** http_basic: the service account (an entry of Ironic's http_basic_auth_user_file). */
    username: z
      .string()
      .min(1)
      .refine((u) => !u.includes(':'), 'a basic-auth user name cannot contain ":"')
      .optional(),
    /** http_basic: a file holding only the account's password (read once at start; one trailing newline ignored). */
    passwordFile: z.string().min(1).optional(),
    /** PEM CA bundle for an https url whose certificate the system store does not know. */
    caFile: z.string().min(1).optional(),
    /** One request to Ironic. */
    timeoutMs: z.number().int().positive().default(5000),
    /** Ironic's [vnc]token_timeout: a token is refused this long after the proxy first saw it. */
    tokenTimeoutSec: z.number().int().min(10).default(600),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.authStrategy !== 'http_basic') return;
    for (const field of ['username', 'passwordFile'] as const) {
      if (c[field] === undefined)
        ctx.addIssue({ code: 'custom', path: [field], message: 'required with authStrategy http_basic' });
    }
  });

export type IronicConfig = z.infer<typeof IronicConfigSchema>;

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** A byte count: a whole number, or a size string like 500m, 20g, 1.5t (binary units; an optional "b"/"ib" suffix). */
const byteSize = z.union(
  [
    z.number().int().positive(),
    z
      .string()
      .regex(/^\s*\d+(\.\d+)?\s*([kmgt](i?b)?|b)?\s*$/i, 'expected a size like 500m, 20g or a number of bytes')
      .transform((s) => {
        const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)/i.exec(s) as RegExpExecArray;
        return Math.floor(Number(m[1]) * (SIZE_UNITS[(m[2] ?? '').toLowerCase()] ?? 1));
      })
      .refine((n) => n > 0, 'expected a size above 0'),
  ],
  { error: 'expected a size like 500m or 20g, or a whole number of bytes above 0' },
);

/**
 * Session recordings (written only for consoles whose token answer says `record: true`). The parsed object can be
 * parsed again unchanged (startProxy re-parses what the CLI parsed), so keyFile's default is filled in here.
 */
const RecordingsConfigSchema = z
  .object({
    /** One <id>.bmcrec file per recorded session (directory 0700, files 0600). */
    dir: z.string().min(1).default('/var/lib/bmc-console-proxy/recordings'),
    /** Oldest recordings are removed once all of them together exceed this. */
    maxBytes: byteSize.default(20 * 1024 ** 3),
    /** Recordings that started longer ago than this are removed. */
    maxAgeDays: z.number().positive().default(90),
    /** 32 random bytes (HMAC-SHA256 key), created 0600 on first use; default <dir>/../recording.key. */
    keyFile: z.string().min(1).optional(),
    /** A file holding an admin token that lists and fetches every recording over HTTP (none: no admin access). */
    adminTokenFile: z.string().min(1).optional(),
    /**
     * Which console links may list and replay their node's recordings over HTTP. A recording's timeline shows every
     * key typed (a password at the host's login prompt too), so view-only links may not by default; [] leaves
     * recordings to the admin token and the operator's CLI.
     */
    replayRoles: z.array(z.enum(VIEWER_ROLES)).default(['control']),
  })
  .strict()
  .transform((r) => ({ ...r, keyFile: r.keyFile ?? join(dirname(r.dir), 'recording.key') }));

export type RecordingsConfig = z.infer<typeof RecordingsConfigSchema>;

/**
 * The proxy's whole configuration with every default in this one schema. The config file (YAML or JSON),
 * then CLI flags, map onto it. Option names follow Ironic's [vnc] group where the meaning is the same.
 */
const ProxyConfigSchema = z
  .object({
    /** Listen address; Ironic: [vnc]host_ip. */
    host: z.string().min(1).default('127.0.0.1'),
    /** Listen port (0 picks a free one); Ironic: [vnc]port (6090). */
    port: z.number().int().min(0).max(65535).default(6090),
    /**
     * Where the host agent answers POST /v1/tokens/verify: unix:/path.sock (default: the agent's default socket, so
     * a proxy on the same host as the same user needs no option) or http(s)://host:port (then with the API key).
     */
    agentUrl: z
      .string()
      .refine((u) => /^(https?:\/\/|unix:\/)/.test(u), 'agentUrl must start with http://, https:// or unix:/')
      .default(() => `unix:${defaultAgentSocket()}`),
    /** The agent's API key file (its api_key_file), read only for an http(s) agentUrl. */
    agentApiKeyFile: z
      .string()
      .min(1)
      .default(() => defaultAgentApiKeyFile()),
    agentTimeoutMs: z.number().int().positive().default(5000),
    /**
     * Who checks viewers' tokens: "agent" (our agent's tokens, POST /v1/tokens/verify) or "ironic" (Ironic's own
     * console tokens, checked with Ironic's API; the console's address and VNC password still come from the agent).
     */
    tokenSource: z.enum(['agent', 'ironic']).default('agent'),
    ironic: IronicConfigSchema.optional(),
    tls: z
      .object({
        /** PEM certificate and key files; Ironic: [vnc]ssl_cert_file / ssl_key_file. */
        certFile: z.string().min(1),
        keyFile: z.string().min(1),
        /** Minimum TLS version, honoured exactly; Ironic: [vnc]ssl_minimum_version. */
        minVersion: z.enum(['1.2', '1.3']).default('1.2'),
        ciphers: z.string().optional(),
      })
      .optional(),
    /**
     * Refuse plain HTTP. With `tls` set the listener speaks only TLS anyway; without it (behind a TLS-terminating
     * reverse proxy) each request must carry `X-Forwarded-Proto: https` from a trusted proxy. Defaults to true
     * when `tls` is set.
     */
    requireTls: z.boolean().optional(),
    /** Full origins (scheme://host[:port]) allowed besides the proxy's own; Ironic: [cors]allowed_origin. */
    allowedOrigins: z
      .array(
        z.string().regex(/^https?:\/\/[^/\s]+$/, 'each allowed origin must be scheme://host[:port], without a path'),
      )
      .default([]),
    /** Accept websocket upgrades without an Origin header (non-browser clients); browsers always send one. */
    allowMissingOrigin: z.boolean().default(true),
    /** Peer addresses whose X-Forwarded-Proto / X-Forwarded-For are believed (reverse proxies). */
    trustedProxies: z.array(z.string().min(1)).default([]),
    limits: z
      .object({
        maxSessionsTotal: z.number().int().positive().default(200),
        maxSessionsPerNode: z.number().int().positive().default(4),
        maxSessionsPerSource: z.number().int().positive().default(8),
        /** Largest websocket message from the browser (RFB client messages are small). */
        maxPayloadBytes: z
          .number()
          .int()
          .positive()
          .default(1024 * 1024),
        /** Close a session after this long without bytes in either direction. */
        idleTimeoutSec: z.number().positive().default(900),
        /** Close any session after this long, token or not. */
        maxSessionSec: z
          .number()
          .positive()
          .default(4 * 3600),
        pingIntervalSec: z.number().positive().default(25),
        /** Re-ask the agent about each live session's token this often; expired/revoked ones are closed. */
        reverifyIntervalSec: z.number().positive().default(5),
        consoleConnectTimeoutMs: z.number().int().positive().default(10_000),
        /** Failed token checks one source address may make in a row before it is refused without asking the agent. */
        failedTokenBurst: z.number().int().positive().default(10),
        /** How fast a source earns failed checks back (token bucket refill). */
        failedTokenPerMinute: z.number().positive().default(10),
        /**
         * Pause reading from the console while this many bytes wait to be sent to the browser. A viewer asks for one
         * update at a time, so this bounds the part of one update in flight, not a queue of stale ones; 4 MiB (half
         * a raw full-HD frame) pauses a busy console less often than 1 MiB did (docs/benchmarks.md).
         */
        highWaterMarkBytes: z
          .number()
          .int()
          .positive()
          .default(4 * 1024 * 1024),
      })
      .prefault({}),
    /** Serve Prometheus metrics at /metrics on the main listener, or on their own listener when metricsPort is set. */
    metrics: z
      .object({
        enabled: z.boolean().default(true),
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).optional(),
      })
      .prefault({}),
    recordings: RecordingsConfigSchema.prefault({}),
    /** Direct consoles: the proxy logs in to the node's BMC itself on the first viewer. */
    direct: z
      .object({
        /** Bounds each request to the BMC, the KVM socket's opening and the BMC's RFB handshake. */
        timeoutMs: z.number().int().positive().default(15_000),
        /** How long the BMC login outlives a node's last viewer (the image's KVM_RELEASE_AFTER); 0: log out at once. */
        releaseAfterSec: z.number().min(0).default(60),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.tokenSource === 'ironic' && c.ironic === undefined)
      ctx.addIssue({ code: 'custom', path: ['ironic', 'url'], message: 'required when tokenSource is "ironic"' });
  });

export type ProxyConfig = z.infer<typeof ProxyConfigSchema>;

/** Validates a config object; errors name the field and what was expected. */
export function parseProxyConfig(input: unknown): ProxyConfig {
  const r = ProxyConfigSchema.safeParse(input);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`invalid proxy configuration:\n  ${lines.join('\n  ')}`);
  }
  return r.data;
}

/** Reads a YAML or JSON config file into a plain object (validated later, after flags are merged). */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read config file ${path}: ${(e as Error).message}`);
  }
  const data: unknown = parseYaml(text);
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data))
    throw new Error(`config file ${path}: expected a mapping at the top level`);
  return data as Record<string, unknown>;
}

export function tlsRequired(config: ProxyConfig): boolean {
  return config.requireTls ?? config.tls !== undefined;
}
