/**
 * The agent's HTTP API for the conductor and the proxy: on a unix socket (its file mode is the credential) or, when
 * configured, on TCP where every request carries the API key. Both refuse foreign Host headers and non-JSON bodies.
 */
import { readFileSync } from 'node:fs';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { defaultAgentSocket } from '@bmc-console/common/agent-paths';
import {
  describeIssues,
  startRequestSchema,
  urlRequestSchema,
  verifyRequestSchema,
  type ErrorBody,
  type ErrorKind,
  type VerifyOk,
  type VerifyRefused,
} from '@bmc-console/common/contracts/agent-api';
import { isNodeId } from '@bmc-console/common/contracts/node-id';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { z } from 'zod';
import { bearerMatches, ensureApiKey } from './api-key.js';
import { ConfigError, parseApiListen, type ApiListen } from './config.js';
import { AgentError, type ConsoleAgent } from './console-agent.js';
import { registerMetrics } from './metrics.js';
import { openApiDocument } from './openapi.js';
import { endpointOf } from './tokens/token-store.js';

/** How the API guards itself; apiKey is required for TCP. */
export type ApiSecurity =
  | { listen: { kind: 'unix'; path: string }; allowedHosts?: string[] }
  | {
      listen: { kind: 'tcp'; host: string; port: number };
      apiKey: string;
      tls?: { cert: Buffer; key: Buffer };
      allowedHosts?: string[];
    };

const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '::1'];

/** The host part of a Host header, lower-cased, without port or IPv6 brackets. */
function hostOf(header: string): string {
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') > 0 ? h.indexOf(']') : undefined);
  return h.split(':').length === 2 ? h.split(':')[0]! : h;
}

function allowedHostSet(security: ApiSecurity): Set<string> {
  const hosts = new Set([...LOOPBACK_HOSTS, ...(security.allowedHosts ?? []).map(hostOf)]);
  if (security.listen.kind === 'tcp') hosts.add(security.listen.host.toLowerCase());
  else {
    // Clients that address a unix socket by URL (requests-unixsocket) send its path, percent-encoded, as the Host.
    hosts.add(security.listen.path.toLowerCase());
    hosts.add(encodeURIComponent(security.listen.path).toLowerCase());
  }
  return hosts;
}

const STATUS: Record<AgentError['kind'], number> = { invalid: 400, 'not-found': 404, provider: 502, internal: 500 };

function badBody(reply: FastifyReply, err: z.ZodError, node?: string) {
  return reply
    .code(400)
    .send({ error: { kind: 'invalid', ...(node ? { node } : {}), message: describeIssues(err) } } satisfies ErrorBody);
}

const refuse = (reply: FastifyReply, status: number, kind: ErrorKind, message: string) =>
  reply.code(status).send({ error: { kind, message } } satisfies ErrorBody);

export function buildApi(agent: ConsoleAgent, security: ApiSecurity): FastifyInstance {
  // The agent logs its own operations; request logging would put tokens (in bodies) at risk for little gain.
  const options = { logger: false, bodyLimit: 256 * 1024 } as const;
  const tls = security.listen.kind === 'tcp' && 'tls' in security ? security.tls : undefined;
  // Fastify types an HTTPS instance apart; routes and hooks are the same, so it is used as the plain type.
  const app = (tls
    ? Fastify({ ...options, https: { cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' } })
    : Fastify(options)) as unknown as FastifyInstance;
  // Only JSON bodies: a text/plain POST is what a browser form or a no-preflight fetch can send.
  app.removeContentTypeParser(['text/plain']);
  const hosts = allowedHostSet(security);
  const apiKey = security.listen.kind === 'tcp' && 'apiKey' in security ? security.apiKey : undefined;
  if (security.listen.kind === 'tcp' && !apiKey) throw new Error('a TCP API listener needs an API key');

  app.addHook('onRequest', async (req, reply) => {
    // DNS rebinding: a browser page on another name must not reach the API through a loopback address.
    if (!hosts.has(hostOf(req.headers.host ?? '')))
      return refuse(reply, 421, 'invalid', 'Host header not allowed (api_allowed_hosts)');
    if (apiKey !== undefined && !bearerMatches(req.headers.authorization, apiKey)) {
      void reply.header('www-authenticate', 'Bearer');
      return refuse(
        reply,
        401,
        'unauthorized',
        'missing or wrong API key (Authorization: Bearer <key from api_key_file>)',
      );
    }
    const hasBody =
      (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0') ||
      req.headers['transfer-encoding'] !== undefined;
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (hasBody && type !== 'application/json')
      return refuse(reply, 415, 'invalid', 'request bodies must be application/json');
    return undefined;
  });

  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof AgentError)
      return reply
        .code(STATUS[err.kind])
        .send({ error: { kind: err.kind, ...(err.node ? { node: err.node } : {}), message: err.message } });
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500)
      return reply.code(status).send({ error: { kind: 'invalid', message: (err as Error).message } });
    agent.log.error({ err: (err as Error).message }, 'API request failed');
    return reply.code(500).send({ error: { kind: 'internal', message: (err as Error).message } });
  });

  registerMetrics(app, agent);
  app.get('/openapi.json', async () => openApiDocument);
  app.get('/healthz', async () => ({ ok: true, provider: agent.provider.name }));

  app.get('/v1/consoles', async () => ({ consoles: await agent.status() }));
  app.post('/v1/consoles', async (req, reply) => {
    const body = startRequestSchema.safeParse(req.body ?? {});
    if (!body.success) return badBody(reply, body.error);
    const result = await agent.start(body.data);
    return reply.code(201).send(result);
  });
  app.delete('/v1/consoles', async () => agent.stopAll());
  app.get<{ Params: { node: string } }>('/v1/consoles/:node', async (req) => (await agent.status(req.params.node))[0]);
  app.delete<{ Params: { node: string } }>('/v1/consoles/:node', async (req) => agent.stop(req.params.node));
  // The body is optional: none (or {}) asks for a control link without a name, as before links had claims.
  app.post<{ Params: { node: string } }>('/v1/consoles/:node/urls', async (req, reply) => {
    const body = urlRequestSchema.safeParse(req.body ?? {});
    if (!body.success) return badBody(reply, body.error, isNodeId(req.params.node) ? req.params.node : undefined);
    return reply.code(201).send(await agent.url(req.params.node, body.data));
  });
  // For a proxy that checks Ironic's tokens itself: it still needs the console's address and VNC password (or a
  // direct console's BMC) from us.
  app.post<{ Params: { node: string } }>('/v1/consoles/:node/target', async (req) => agent.target(req.params.node));
  app.post('/v1/reconcile', async () => agent.reconcile());

  app.post('/v1/tokens/verify', async (req, reply) => {
    const body = verifyRequestSchema.safeParse(req.body ?? {});
    if (!body.success) return badBody(reply, body.error);
    const r = await agent.verify(body.data.node, body.data.token);
    if (!r.ok) {
      agent.log.info({ node: body.data.node, reason: r.reason }, 'token refused');
      return reply.code(403).send({ reason: r.reason } satisfies VerifyRefused);
    }
    return {
      node: r.node,
      ...endpointOf(r.target),
      ...(r.target.vncPassword ? { vncPassword: r.target.vncPassword } : {}),
      readOnly: r.target.readOnly,
      expiresAt: r.expiresAt.toISOString(),
      role: r.claims.role,
      ...(r.claims.user !== undefined ? { user: r.claims.user } : {}),
      exclusive: r.claims.exclusive,
      record: r.target.record,
    } satisfies VerifyOk;
  });
  return app;
}

/** Whether something answers on a unix socket (another agent serving it) rather than a file left by a dead one. */
function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ path });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

/**
 * Listens as `listen` says: a unix socket (mode 0660; its directory is created 0750, and the default directory is
 * kept at 0750) or TCP. Returns the address the proxy takes as agentUrl: `unix:/path` or `http(s)://host:port`.
 */
export async function listenApi(
  app: FastifyInstance,
  listen: ApiListen,
  opts: { stateDir?: string; tls?: boolean } = {},
): Promise<string> {
  if (listen.kind === 'unix') {
    const dir = dirname(listen.path);
    const created = await mkdir(dir, { recursive: true, mode: 0o750 });
    if (created !== undefined || (opts.stateDir !== undefined && dir === dirname(defaultAgentSocket(opts.stateDir))))
      await chmod(dir, 0o750);
    if (await socketAnswers(listen.path))
      throw new ConfigError(`api_listen: another process already serves ${listen.path}`);
    await rm(listen.path, { force: true }); // a socket file left by an earlier run
    await app.listen({ path: listen.path });
    await chmod(listen.path, 0o660);
    return `unix:${listen.path}`;
  }
  await app.listen({ host: listen.host, port: listen.port });
  const addr = app.server.address();
  const port = addr && typeof addr === 'object' ? addr.port : listen.port;
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return `${opts.tls ? 'https' : 'http'}://${host}:${port}`;
}

/** Builds and starts the API from the agent's configuration (listener, API key file, TLS, allowed hosts). */
export async function startApi(agent: ConsoleAgent): Promise<{ app: FastifyInstance; address: string }> {
  const cfg = agent.config;
  const listen = parseApiListen(cfg.api_listen);
  if (!listen) throw new ConfigError(`api_listen: cannot parse ${JSON.stringify(cfg.api_listen)}`);
  let security: ApiSecurity;
  if (listen.kind === 'unix') security = { listen, allowedHosts: cfg.api_allowed_hosts };
  else {
    const read = (file: string, field: string) => {
      try {
        return readFileSync(file);
      } catch (err) {
        throw new ConfigError(
          `${field}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        );
      }
    };
    const tls =
      cfg.api_tls_cert_file && cfg.api_tls_key_file
        ? {
            cert: read(cfg.api_tls_cert_file, 'api_tls_cert_file'),
            key: read(cfg.api_tls_key_file, 'api_tls_key_file'),
          }
        : undefined;
    security = {
      listen,
      apiKey: await ensureApiKey(cfg.api_key_file),
      ...(tls ? { tls } : {}),
      allowedHosts: cfg.api_allowed_hosts,
    };
  }
  const app = buildApi(agent, security);
  try {
    return {
      app,
      address: await listenApi(app, listen, { stateDir: cfg.state_dir, tls: cfg.api_tls_cert_file !== undefined }),
    };
  } catch (err) {
    await app.close();
    throw err;
  }
}
