// A fake host agent for proxy tests: implements only POST /v1/tokens/verify over a token table the test controls
// (an RFB console's host and port, or a direct console's BMC target).
// Like the real agent it listens on a unix socket (no key), or on TCP where it requires `Authorization: Bearer <key>`.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { DirectTarget } from '@bmc-console/common/contracts/direct-target';
import { tempDir } from '@bmc-console/common/testing/temp-dir';

interface FakeGrant {
  node: string;
  host?: string;
  port?: number;
  direct?: DirectTarget;
  vncPassword?: string;
  readOnly?: boolean;
  expiresAt: Date;
  revoked?: boolean;
  role?: 'control' | 'view';
  user?: string;
  exclusive?: boolean;
  record?: boolean;
}

export interface FakeAgent {
  url: string;
  grants: Map<string, FakeGrant>;
  /** Issues a token for a console; returns it. */
  issue(grant: Omit<FakeGrant, 'expiresAt'> & { ttlMs?: number; expiresAt?: Date }): string;
  calls: number;
  /** While true the agent answers 500 (agent trouble). */
  broken: boolean;
  close(): Promise<void>;
}

export interface FakeAgentOptions {
  /** Listen on loopback TCP and require this API key (default: a unix socket in a fresh temp dir). */
  tcpApiKey?: string;
}

export async function startFakeAgent(opts: FakeAgentOptions = {}): Promise<FakeAgent> {
  const grants = new Map<string, FakeGrant>();
  const agent: FakeAgent = {
    url: '',
    grants,
    calls: 0,
    broken: false,
    issue(g) {
      const token = randomBytes(32).toString('base64url');
      grants.set(token, { ...g, expiresAt: g.expiresAt ?? new Date(Date.now() + (g.ttlMs ?? 600_000)) });
      return token;
    },
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      agent.calls++;
      const send = (status: number, o: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(o));
      };
      if (opts.tcpApiKey !== undefined && req.headers.authorization !== `Bearer ${opts.tcpApiKey}`)
        return send(401, { error: { kind: 'unauthorized', message: 'missing or wrong API key' } });
      if (agent.broken) return send(500, { error: 'broken on purpose' });
      if (req.method !== 'POST' || req.url !== '/v1/tokens/verify') return send(404, { error: 'not found' });
      let q: { node?: string; token?: string };
      try {
        q = JSON.parse(body) as typeof q;
      } catch {
        return send(400, { error: 'bad json' });
      }
      const g = grants.get(q.token ?? '');
      if (!g) return send(403, { reason: 'unknown' });
      if (g.node !== q.node) return send(403, { reason: 'wrong-node' });
      if (g.revoked) return send(403, { reason: 'revoked' });
      if (g.expiresAt.getTime() <= Date.now()) return send(403, { reason: 'expired' });
      send(200, {
        node: g.node,
        ...(g.host !== undefined ? { host: g.host } : {}),
        ...(g.port !== undefined ? { port: g.port } : {}),
        ...(g.direct !== undefined ? { direct: g.direct } : {}),
        ...(g.vncPassword ? { vncPassword: g.vncPassword } : {}),
        readOnly: g.readOnly ?? false,
        expiresAt: g.expiresAt.toISOString(),
        // Left out when not set, as an older agent answers: the proxy's contract supplies the defaults.
        ...(g.role !== undefined ? { role: g.role } : {}),
        ...(g.user !== undefined ? { user: g.user } : {}),
        ...(g.exclusive !== undefined ? { exclusive: g.exclusive } : {}),
        ...(g.record !== undefined ? { record: g.record } : {}),
      });
    });
  });
  if (opts.tcpApiKey !== undefined) {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    agent.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  } else {
    const socket = join(tempDir('fake-agent-'), 'agent.sock');
    await new Promise<void>((r) => server.listen(socket, r));
    agent.url = `unix:${socket}`;
  }
  return agent;
}
