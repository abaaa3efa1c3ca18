/** The agent's local HTTP API (loopback TCP or a unix socket) for the conductor and the proxy. */
import { chmod, rm } from 'node:fs/promises';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { z } from 'zod';
import { AgentError, type ConsoleAgent } from './console-agent.js';
import { openApiDocument } from './openapi.js';

const STATUS: Record<AgentError['kind'], number> = { invalid: 400, 'not-found': 404, provider: 502, internal: 500 };

const verifyBody = z.object({ node: z.string().min(1, 'expected the node id'), token: z.string().min(1, 'expected the token') });
const startBody = z.object({ node: z.string().min(1, 'expected the node id'), app: z.string().optional(), appInfo: z.unknown(), readOnly: z.boolean().optional() });

function badBody(reply: FastifyReply, err: z.ZodError, node?: string) {
  const message = err.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
  return reply.code(400).send({ error: { kind: 'invalid', ...(node ? { node } : {}), message } });
}

export function buildApi(agent: ConsoleAgent): FastifyInstance {
  // The agent logs its own operations; request logging would put tokens (in bodies) at risk for little gain.
  const app = Fastify({ logger: false, bodyLimit: 256 * 1024 });

  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof AgentError) return reply.code(STATUS[err.kind]).send({ error: { kind: err.kind, ...(err.node ? { node: err.node } : {}), message: err.message } });
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) return reply.code(status).send({ error: { kind: 'invalid', message: (err as Error).message } });
    agent.log.error({ err: (err as Error).message }, 'API request failed');
    return reply.code(500).send({ error: { kind: 'internal', message: (err as Error).message } });
  });

  app.get('/openapi.json', async () => openApiDocument);
  app.get('/healthz', async () => ({ ok: true, provider: agent.provider.name }));

  app.get('/v1/consoles', async () => ({ consoles: await agent.status() }));
  app.post('/v1/consoles', async (req, reply) => {
    const body = startBody.safeParse(req.body ?? {});
    if (!body.success) return badBody(reply, body.error);
    const result = await agent.start(body.data);
    return reply.code(201).send(result);
  });
  app.delete('/v1/consoles', async () => agent.stopAll());
  app.get<{ Params: { node: string } }>('/v1/consoles/:node', async (req) => (await agent.status(req.params.node))[0]);
  app.delete<{ Params: { node: string } }>('/v1/consoles/:node', async (req) => agent.stop(req.params.node));
  app.post<{ Params: { node: string } }>('/v1/consoles/:node/urls', async (req, reply) => reply.code(201).send(await agent.url(req.params.node)));
  app.post('/v1/reconcile', async () => agent.reconcile());

  app.post('/v1/tokens/verify', async (req, reply) => {
    const body = verifyBody.safeParse(req.body ?? {});
    if (!body.success) return badBody(reply, body.error);
    const r = await agent.verify(body.data.node, body.data.token);
    if (!r.ok) {
      agent.log.info({ node: body.data.node, reason: r.reason }, 'token refused');
      return reply.code(403).send({ reason: r.reason });
    }
    return {
      node: r.node,
      host: r.target.host,
      port: r.target.port,
      ...(r.target.vncPassword ? { vncPassword: r.target.vncPassword } : {}),
      readOnly: r.target.readOnly,
      expiresAt: r.expiresAt.toISOString(),
    };
  });
  return app;
}

/** Listens on the configured unix socket (mode 0660) or loopback TCP; returns the address for logs and tests. */
export async function listenApi(app: FastifyInstance, opts: { host: string; port: number; socket?: string }): Promise<string> {
  if (opts.socket) {
    await rm(opts.socket, { force: true }); // a socket file left by an earlier run
    await app.listen({ path: opts.socket });
    await chmod(opts.socket, 0o660);
    return `unix:${opts.socket}`;
  }
  return app.listen({ host: opts.host, port: opts.port });
}
