// AgentTokenVerifier against a fake agent (a plain HTTP server the test controls): shared requests, keep-alive,
// retries after transient trouble, and no retry where asking again cannot help.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentTokenVerifier, AgentUnavailableError } from '../src/token-verifier.js';

const accepted = {
  node: 'n1',
  host: '127.0.0.1',
  port: 5901,
  readOnly: false,
  expiresAt: new Date(Date.now() + 600_000).toISOString(),
};

type Handler = (req: IncomingMessage, res: ServerResponse, call: number) => void;

async function fakeAgent(
  handler: Handler,
): Promise<{ url: string; calls: () => number; connections: () => number; server: Server }> {
  let calls = 0;
  let connections = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => handler(req, res, ++calls));
  });
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls: () => calls,
    connections: () => connections,
    server,
  };
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => (s.closeAllConnections(), s.close(r)));
});

const send = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

describe('AgentTokenVerifier (fake agent)', () => {
  it('viewers opening at once with the same token share one request; later requests reuse the connection', async () => {
    const release: (() => void)[] = [];
    const agent = await fakeAgent((_req, res) => release.push(() => send(res, 200, accepted)));
    const v = new AgentTokenVerifier(agent.url, { retryDelaysMs: [] });
    const all = Promise.all(Array.from({ length: 10 }, () => v.verify('n1', 'tok')));
    while (release.length === 0) await new Promise((r) => setTimeout(r, 5));
    release.shift()!();
    const results = await all;
    expect(results.every((r) => r.ok)).toBe(true);
    expect(agent.calls()).toBe(1);
    // Once answered, the next viewer asks again (a revocation must be seen), on the kept-alive connection.
    const next = v.verify('n1', 'tok');
    while (release.length === 0) await new Promise((r) => setTimeout(r, 5));
    release.shift()!();
    expect((await next).ok).toBe(true);
    expect(agent.calls()).toBe(2);
    expect(agent.connections()).toBe(1);
    v.close();
  });

  it('asks again after HTTP 5xx and after no answer within the timeout', async () => {
    const agent = await fakeAgent((_req, res, call) => {
      if (call === 1) return send(res, 503, { error: 'busy' });
      if (call === 2) return; // never answers: the request times out
      send(res, 403, { reason: 'revoked' });
    });
    const v = new AgentTokenVerifier(agent.url, { timeoutMs: 300, retryDelaysMs: [10, 10] });
    expect(await v.verify('n1', 'tok')).toEqual({ ok: false, reason: 'revoked' });
    expect(agent.calls()).toBe(3);
    v.close();
  });

  it('an agent that is restarting (connection refused) is asked again until it is back', async () => {
    const agent = await fakeAgent((_req, res) => send(res, 200, accepted));
    const port = (agent.server.address() as AddressInfo).port;
    await new Promise((r) => (agent.server.closeAllConnections(), agent.server.close(r)));
    const v = new AgentTokenVerifier(agent.url, { retryDelaysMs: [200, 2000] });
    const pending = v.verify('n1', 'tok');
    // The agent comes back on the same port while the verifier waits to ask again.
    const back = createServer((req, res) => {
      req.resume();
      req.on('end', () => send(res, 200, accepted));
    });
    servers.push(back);
    await new Promise<void>((r) => back.listen(port, '127.0.0.1', r));
    const r = await pending;
    expect(r.ok).toBe(true);
    v.close();
  });

  it('gives up with AgentUnavailableError after the last retry; a broken contract is not retried', async () => {
    const failing = await fakeAgent((_req, res) => send(res, 500, { error: 'broken' }));
    const v = new AgentTokenVerifier(failing.url, { retryDelaysMs: [10, 10] });
    await expect(v.verify('n1', 'tok')).rejects.toBeInstanceOf(AgentUnavailableError);
    expect(failing.calls()).toBe(3);
    const odd = await fakeAgent((_req, res) => send(res, 200, { node: 'n1' }));
    const w = new AgentTokenVerifier(odd.url, { retryDelaysMs: [10, 10] });
    await expect(w.verify('n1', 'tok')).rejects.toThrow(/verify contract: readOnly/);
    expect(odd.calls()).toBe(1);
    const nowhere = await fakeAgent((_req, res) => send(res, 200, { ...accepted, host: undefined, port: undefined }));
    const x = new AgentTokenVerifier(nowhere.url, { retryDelaysMs: [] });
    await expect(x.verify('n1', 'tok')).rejects.toThrow(/verify contract: host: expected host and port, or direct/);
    v.close();
    w.close();
    x.close();
  });

  it('tells an RFB console from a direct one (direct wins when the agent also names its relay)', async () => {
    const direct = {
      vendor: 'openbmc',
      address: 'https://10.0.0.5',
      username: 'root',
      password: 'bmc-secret',
      verifyCa: false,
    } as const;
    const answers = [accepted, { ...accepted, direct }, { ...accepted, host: undefined, port: undefined, direct }];
    const agent = await fakeAgent((_req, res, call) => send(res, 200, answers[call - 1]));
    const v = new AgentTokenVerifier(agent.url, { retryDelaysMs: [] });
    const kinds = [];
    for (let i = 0; i < answers.length; i++) {
      const r = await v.verify('n1', 'tok');
      kinds.push(r.ok ? r.target.console : undefined);
    }
    expect(kinds).toEqual([
      { kind: 'rfb', host: '127.0.0.1', port: 5901 },
      { kind: 'direct', target: direct },
      { kind: 'direct', target: direct },
    ]);
    v.close();
  });

  it('a 400 from the agent is an unknown token, not trouble', async () => {
    const agent = await fakeAgent((_req, res) => send(res, 400, { error: { kind: 'invalid', message: 'node: bad' } }));
    const v = new AgentTokenVerifier(agent.url);
    expect(await v.verify('../x', 'tok')).toEqual({ ok: false, reason: 'unknown' });
    expect(agent.calls()).toBe(1);
    v.close();
  });
});
