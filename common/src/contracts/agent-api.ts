/**
 * The host agent's HTTP API bodies, one zod schema each: the agent parses requests and types replies with them,
 * the proxy parses the replies with them, and the agent's OpenAPI document is generated from them.
 */
import { z } from 'zod';
import { APPS } from '../console-env.js';
import { CONSOLE_MODES, DirectTargetSchema, SERVED_MODES } from './direct-target.js';
import { nodeIdSchema } from './node-id.js';

const isoDate = z
  .string()
  .refine((s) => !Number.isNaN(Date.parse(s)), 'expected an ISO date')
  .meta({ format: 'date-time' });
const port = z.number().int().min(1).max(65535);
const host = z.string().min(1);
/** Ids in replies are the ones the agent accepted, so a reply is not refused over a stricter rule added later. */
const node = z.string().min(1);

/** Every error kind the API answers; the agent's own errors use all but `unauthorized`. */
const ERROR_KINDS = ['invalid', 'unauthorized', 'not-found', 'provider', 'internal'] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

export const errorBodySchema = z.object({
  error: z.object({
    kind: z.enum(ERROR_KINDS),
    node: z.string().optional(),
    message: z.string().meta({ description: 'Names the node and the cause; never contains a secret.' }),
  }),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

export const startRequestSchema = z.object({
  node: nodeIdSchema,
  app: z.enum(APPS).optional().meta({ default: 'redfish-graphical' }),
  appInfo: z.record(z.string(), z.unknown(), { error: 'expected APP_INFO as a JSON object' }).meta({
    description:
      "Ironic's APP_INFO: address, username, password, root_prefix, verify_ca (bool, or the path of a CA bundle file under the agent's ca_bundle_dir), ...",
  }),
  readOnly: z.boolean().optional().meta({ description: 'Defaults to the read_only option.' }),
  vncPassword: z.boolean().optional().meta({
    description:
      "Protect the console's VNC server with a password the proxy answers (default: the vnc_password option). false: no password, for a viewer that speaks only security type None (e.g. Ironic's own noVNC proxy); the console still publishes on container_publish_address.",
  }),
  record: z.boolean().optional().meta({
    description: 'Have the proxy record every session on this console (default: the record_sessions option).',
  }),
  consoleMode: z.enum(CONSOLE_MODES).optional().meta({
    description:
      "How the console is served (default: the console_mode option). container: a console container runs the BMC's viewer page; direct: no container, the proxy logs in to the BMC and relays its own RFB (OpenBMC, Lenovo XCC3, Dell iDRAC9); auto: Redfish discovery picks direct where the BMC supports it and a container otherwise or when direct is refused.",
  }),
});
export type StartRequest = z.infer<typeof startRequestSchema>;

/** What a console link lets its holder do: type and point (control) or only watch (view). */
export const VIEWER_ROLES = ['control', 'view'] as const;
export type ViewerRole = (typeof VIEWER_ROLES)[number];
const role = z.enum(VIEWER_ROLES);

/** A person's name on a link: shown to the other viewers and written into audit lines and recordings. */
export const viewerNameSchema = z
  .string()
  .regex(
    /^[\p{L}\p{N}][\p{L}\p{N} ._@+-]{0,63}$/u,
    'expected a user name of 1 to 64 letters, digits, spaces and . _ @ + - (starting with a letter or digit)',
  );

/** POST /v1/consoles/{node}/urls: one more link to a running console, for one person and role. */
export const urlRequestSchema = z
  .object({
    viewOnly: z.boolean().optional().meta({
      description: 'A link that only watches: the proxy drops its keys, pointer, clipboard and power requests.',
    }),
    user: viewerNameSchema.optional().meta({ description: 'Who the link is for; shown to the other viewers.' }),
    exclusive: z.boolean().optional().meta({
      description:
        'Asks for sole control: while this viewer is connected, only the holder of control types; it can hand control over.',
    }),
  })
  .refine((r) => !(r.viewOnly && r.exclusive), {
    path: ['exclusive'],
    message: 'a view-only link cannot ask for exclusive control',
  });
export type UrlRequest = z.infer<typeof urlRequestSchema>;

/** What a started console is; a reply from an agent older than direct consoles is a container. */
const servedMode = z.enum(SERVED_MODES).default('container');
/** Where a console's RFB answers: absent for a direct console without the agent's relay (docs/direct.md). */
const rfbHost = host.optional().meta({
  description: "Where the console's RFB answers (a direct console: the agent's RFB relay, absent when it serves none).",
});
const rfbPort = port.optional();

const startResultSchema = z.object({
  node,
  mode: servedMode,
  host: rfbHost,
  port: rfbPort,
  url: z.string(),
  expiresAt: isoDate,
});
export type StartResult = z.infer<typeof startResultSchema>;

const stopResultSchema = z.object({ node, wasRunning: z.boolean() });
export type StopResult = z.infer<typeof stopResultSchema>;

const stopAllResultSchema = z.object({ stopped: z.array(z.string()) });

const urlResultSchema = z.object({
  node,
  url: z.string(),
  expiresAt: isoDate,
  role,
  user: z.string().optional(),
  exclusive: z.boolean(),
});
export type UrlResult = z.infer<typeof urlResultSchema>;

const consoleStatusSchema = z.object({
  node,
  provider: z.string(),
  app: z.string(),
  status: z.enum(['running', 'died']),
  mode: servedMode,
  host: rfbHost,
  port: rfbPort,
  readOnly: z.boolean(),
  record: z.boolean(),
  startedAt: isoDate,
  diedAt: isoDate.optional(),
  validTokens: z.number().int().nonnegative(),
});
export type ConsoleStatus = z.infer<typeof consoleStatusSchema>;

const consoleListSchema = z.object({ consoles: z.array(consoleStatusSchema) });

export const verifyRequestSchema = z.object({ node: nodeIdSchema, token: z.string().min(1, 'expected the token') });
export type VerifyRequest = z.infer<typeof verifyRequestSchema>;

/**
 * A direct console's BMC, for the proxy that logs in to it: holds the BMC password, like vncPassword never logged and
 * never sent to a browser.
 */
const direct = DirectTargetSchema.optional().meta({
  description: "A direct console: the BMC the proxy logs in to itself (holds the BMC's credentials).",
});
/** A console is reachable either at host:port (RFB) or through `direct`. */
const reachable = (t: { host?: string | undefined; port?: number | undefined; direct?: unknown }) =>
  t.direct !== undefined || (t.host !== undefined && t.port !== undefined);
const reachableRule = { path: ['host'], message: 'expected host and port, or direct' };

/** Where a console is and how the proxy gets in: the agent's answer to a token check and to a target request. */
const consoleTargetFields = z.object({
  node,
  host: rfbHost,
  port: rfbPort,
  direct,
  vncPassword: z.string().min(1).optional().meta({
    description:
      "The console's VNC password, for the proxy's VNC authentication to x11vnc (absent for a console started without one).",
  }),
  readOnly: z.boolean(),
  record: z.boolean().default(false).meta({ description: 'The proxy must record sessions on this console.' }),
});

export const verifyOkSchema = consoleTargetFields
  .extend({
    expiresAt: isoDate,
    // Defaults keep an older agent's answers valid: a link without claims is a control link with no name.
    role: role.default('control').meta({ description: 'What the token lets its viewer do.' }),
    user: z.string().optional().meta({ description: 'The name the token was issued for.' }),
    exclusive: z.boolean().default(false).meta({ description: 'The token asks for sole control.' }),
  })
  .refine(reachable, reachableRule);
export type VerifyOk = z.infer<typeof verifyOkSchema>;

const TOKEN_REJECTIONS = ['unknown', 'expired', 'revoked', 'wrong-node'] as const;
export type TokenRejection = (typeof TOKEN_REJECTIONS)[number];

export const verifyRefusedSchema = z.object({ reason: z.enum(TOKEN_REJECTIONS) });
export type VerifyRefused = z.infer<typeof verifyRefusedSchema>;

export const consoleTargetSchema = consoleTargetFields.refine(reachable, reachableRule);
export type ConsoleTarget = z.infer<typeof consoleTargetSchema>;

const reconcileResultSchema = z.object({ died: z.array(z.string()), stoppedUnknown: z.array(z.string()) });
export type ReconcileResult = z.infer<typeof reconcileResultSchema>;

/** The schemas by the names the OpenAPI document gives them (components.schemas). */
export const AGENT_API_SCHEMAS = {
  Error: errorBodySchema,
  StartRequest: startRequestSchema,
  StartResult: startResultSchema,
  StopResult: stopResultSchema,
  StopAllResult: stopAllResultSchema,
  UrlRequest: urlRequestSchema,
  UrlResult: urlResultSchema,
  ConsoleStatus: consoleStatusSchema,
  ConsoleList: consoleListSchema,
  VerifyRequest: verifyRequestSchema,
  VerifyOk: verifyOkSchema,
  ConsoleTarget: consoleTargetSchema,
  VerifyRefused: verifyRefusedSchema,
  ReconcileResult: reconcileResultSchema,
} as const;

/** Where a console's RFB answers; throws, naming the node, for a direct console that has no RFB relay. */
export function rfbEndpoint(r: { node: string; host?: string | undefined; port?: number | undefined }): {
  host: string;
  port: number;
} {
  if (r.host === undefined || r.port === undefined)
    throw new Error(`node ${r.node}: the console has no RFB endpoint (a direct console without the agent's relay)`);
  return { host: r.host, port: r.port };
}

/** A zod error as one line, each problem naming its field (`appInfo.username: ...`), never a value. */
export function describeIssues(err: z.ZodError, whole = 'body'): string {
  return err.issues.map((i) => `${i.path.join('.') || whole}: ${i.message}`).join('; ');
}
