/**
 * RedfishClient against real local HTTPS servers (node:https, certificates from `selfsigned`): verify_ca modes,
 * every error kind, sessions, Basic fallback, logout, and that neither password nor token leaks into errors.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedfishClient, RedfishClient } from '@bmc-console/common/redfish/client';
import { RedfishError } from '@bmc-console/common/redfish/error';
import {
  makeCa,
  makeServerCert,
  refusedPort,
  sendJson,
  startServer,
  type Pem,
  type TestServer,
} from './redfish-test-server.js';

const PASSWORD = 'S3cret-Passw0rd!';
const TOKEN = 'tok-4f1d9c2b7e';
const ROOT = {
  '@odata.id': '/redfish/v1/',
  Id: 'RootService',
  Name: 'Root Service',
  Vendor: 'Dell',
  RedfishVersion: '1.13.1',
};

let selfSigned: Pem;
let ca: Pem;
let otherCa: Pem;
let caSigned: Pem;
let dir: string;
const servers: TestServer[] = [];
const clients: RedfishClient[] = [];

beforeAll(async () => {
  [selfSigned, ca, otherCa] = await Promise.all([
    makeServerCert(),
    makeCa('bmc-console test CA'),
    makeCa('some other CA'),
  ]);
  caSigned = await makeServerCert(ca);
  dir = mkdtempSync(join(tmpdir(), 'redfish-client-test-'));
  writeFileSync(join(dir, 'ca.pem'), ca.cert);
  writeFileSync(join(dir, 'other-ca.pem'), otherCa.cert);
  writeFileSync(join(dir, 'not-pem.txt'), 'hello');
});

afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all(servers.map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

async function serve(handler: Parameters<typeof startServer>[0], tls: Pem | null = selfSigned): Promise<TestServer> {
  const s = await startServer(handler, tls ?? undefined);
  servers.push(s);
  return s;
}

function client(origin: string, extra: Partial<ConstructorParameters<typeof RedfishClient>[0]> = {}): RedfishClient {
  const c = new RedfishClient({
    origin,
    verifyCa: false,
    username: 'root',
    password: PASSWORD,
    timeoutMs: 10_000,
    ...extra,
  });
  clients.push(c);
  return c;
}

/** The rejection of `p`, which must be a RedfishError. */
async function failure(p: Promise<unknown>): Promise<RedfishError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RedfishError);
  const e = err as RedfishError;
  // Never a secret in what gets logged or shown.
  expect(`${e.message} ${e.url} ${e.detail}`).not.toContain(PASSWORD);
  expect(`${e.message} ${e.url} ${e.detail}`).not.toContain(TOKEN);
  return e;
}

/** A Redfish service with sessions: root open, everything else needs the X-Auth-Token. */
function redfishService(opts: { sessions?: boolean; password?: string } = {}) {
  const live = new Set<string>();
  let n = 0;
  const handler: Parameters<typeof startServer>[0] = (req, res, body) => {
    const url = req.url ?? '';
    if (url === '/redfish/v1/' || url === '/redfish/v1') return sendJson(res, 200, ROOT);
    if (req.method === 'POST' && url === '/redfish/v1/SessionService/Sessions') {
      if (opts.sessions === false) return sendJson(res, 405, { error: { message: 'Method not allowed' } });
      const creds = JSON.parse(body) as { UserName?: string; Password?: string };
      if (creds.UserName !== 'root' || creds.Password !== (opts.password ?? PASSWORD)) {
        // Some BMCs echo what they got; the client must scrub it.
        return sendJson(res, 401, { error: { message: `Login failed for root with password ${creds.Password}` } });
      }
      const token = `${TOKEN}-${++n}`;
      live.add(token);
      return sendJson(
        res,
        201,
        { Id: String(n) },
        { 'X-Auth-Token': token, Location: `/redfish/v1/SessionService/Sessions/${n}` },
      );
    }
    const token = req.headers['x-auth-token'];
    const basicOk = req.headers.authorization === `Basic ${Buffer.from(`root:${PASSWORD}`).toString('base64')}`;
    const authed = (typeof token === 'string' && live.has(token)) || basicOk;
    if (!authed) return sendJson(res, 401, { error: { message: 'Unauthorized' } });
    if (req.method === 'DELETE' && url.startsWith('/redfish/v1/SessionService/Sessions/')) {
      if (typeof token === 'string') live.delete(token);
      res.writeHead(204).end();
      return;
    }
    if (url === '/redfish/v1/Managers/1')
      return sendJson(res, 200, { '@odata.id': url, Id: '1', Model: '15G Monolithic' });
    if (req.method === 'POST' && url === '/redfish/v1/Managers/1/Actions/Echo')
      return sendJson(res, 200, JSON.parse(body));
    sendJson(res, 404, {
      error: { message: 'Not found', '@Message.ExtendedInfo': [{ Message: `The resource at ${url} was not found.` }] },
    });
  };
  return { handler, live, expire: () => live.clear() };
}

describe('RedfishClient: reads and verify_ca', () => {
  it('reads the service root without credentials (verify_ca false accepts a self-signed BMC)', async () => {
    const s = await serve(redfishService().handler);
    const c = client(s.origin);
    await expect(c.get('')).resolves.toMatchObject({ Vendor: 'Dell' });
    expect(s.requests[0]?.headers.authorization).toBeUndefined();
    expect(s.requests[0]?.headers['x-auth-token']).toBeUndefined();
  });

  it('verify_ca true: a self-signed BMC is a tls error', async () => {
    const s = await serve(redfishService().handler);
    const e = await failure(client(s.origin, { verifyCa: true }).get(''));
    expect(e.kind).toBe('tls');
    expect(e.url).toBe(`${s.origin}/redfish/v1/`);
  });

  it('verify_ca PATH: trusts a BMC certificate signed by that CA', async () => {
    const s = await serve(redfishService().handler, caSigned);
    await expect(client(s.origin, { verifyCa: join(dir, 'ca.pem') }).get('')).resolves.toMatchObject({
      Id: 'RootService',
    });
  });

  it('verify_ca PATH: another CA does not verify it, and neither does the system store', async () => {
    const s = await serve(redfishService().handler, caSigned);
    expect((await failure(client(s.origin, { verifyCa: join(dir, 'other-ca.pem') }).get(''))).kind).toBe('tls');
    expect((await failure(client(s.origin, { verifyCa: true }).get(''))).kind).toBe('tls');
  });

  it('verify_ca PATH: a missing or non-PEM bundle is a tls error naming the file', () => {
    for (const file of [join(dir, 'absent.pem'), join(dir, 'not-pem.txt')]) {
      let err: unknown;
      try {
        client('https://127.0.0.1:9', { verifyCa: file });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RedfishError);
      expect((err as RedfishError).kind).toBe('tls');
      expect((err as RedfishError).message).toContain(file);
    }
  });

  it('a plain-HTTP server behind an https:// address is a tls error', async () => {
    const s = await serve(redfishService().handler, null);
    const e = await failure(client(s.origin.replace('http:', 'https:')).get(''));
    expect(e.kind).toBe('tls');
  });
});

describe('RedfishClient: error kinds', () => {
  it('connection refused -> unreachable', async () => {
    const port = await refusedPort();
    const e = await failure(client(`https://127.0.0.1:${port}`).get(''));
    expect(e.kind).toBe('unreachable');
    expect(e.message).toContain('connection refused');
    expect(e.url).toBe(`https://127.0.0.1:${port}/redfish/v1/`);
  });

  it('no answer within the deadline -> unreachable (timeout)', async () => {
    const s = await serve(() => {
      /* accept, never answer */
    });
    const e = await failure(client(s.origin, { timeoutMs: 300 }).get(''));
    expect(e.kind).toBe('unreachable');
    expect(e.message).toContain('timeout');
  });

  it('HTML where JSON belongs -> protocol', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('<!DOCTYPE html><html><body>Login</body></html>');
    });
    const e = await failure(client(s.origin).get(''));
    expect(e.kind).toBe('protocol');
    expect(e.message).toMatch(/HTML/);
  });

  it('junk -> protocol', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"Id": "RootService", \u0000\u0001 garbage');
    });
    const e = await failure(client(s.origin).get(''));
    expect(e.kind).toBe('protocol');
    expect(e.message).toMatch(/do not parse/);
  });

  it('a JSON array where a resource belongs -> protocol', async () => {
    const s = await serve((_req, res) => sendJson(res, 200, [1, 2]));
    expect((await failure(client(s.origin).get(''))).kind).toBe('protocol');
  });

  it('redirect to another host -> protocol, without following it', async () => {
    const other = await serve((_req, res) => sendJson(res, 200, ROOT));
    const s = await serve((_req, res) => {
      res.writeHead(302, { Location: `https://localhost:${other.port}/redfish/v1/` });
      res.end();
    });
    const e = await failure(client(s.origin).get(''));
    expect(e.kind).toBe('protocol');
    expect(e.message).toContain('redirect to another host refused');
    expect(other.requests).toHaveLength(0);
  });

  it('redirect on the same host is followed', async () => {
    const s = await serve((req, res) => {
      if (req.url === '/redfish/v1') {
        res.writeHead(301, { Location: '/redfish/v1/' });
        return res.end();
      }
      sendJson(res, 200, ROOT);
    });
    await expect(client(s.origin).get('/redfish/v1')).resolves.toMatchObject({ Id: 'RootService' });
  });

  it('401 and 403 -> auth; 500 and 404 -> http with the Redfish message and status', async () => {
    const s = await serve((req, res) => {
      const status = Number(req.url?.split('/').pop());
      sendJson(res, status, {
        error: { message: `Failure ${status}`, '@Message.ExtendedInfo': [{ Message: 'Detail.' }] },
      });
    });
    const c = client(s.origin, { auth: 'basic' });
    for (const [code, kind] of [
      [401, 'auth'],
      [403, 'auth'],
      [500, 'http'],
      [404, 'http'],
    ] as const) {
      const e = await failure(c.get(`/x/${code}`));
      expect(e.kind, String(code)).toBe(kind);
      expect(e.status).toBe(code);
      expect(e.message).toContain(`Failure ${code}`);
    }
  });
});

describe('RedfishClient: sessions', () => {
  it('logs in once with a session, sends X-Auth-Token, and DELETEs the session on logout', async () => {
    const svc = redfishService();
    const s = await serve(svc.handler);
    const c = client(s.origin);
    await expect(c.get('Managers/1')).resolves.toMatchObject({ Model: '15G Monolithic' });
    await expect(c.get('/redfish/v1/Managers/1')).resolves.toMatchObject({ Id: '1' });
    expect(c.authMode).toBe('session');
    const logins = s.requests.filter((r) => r.method === 'POST' && r.url.endsWith('/Sessions'));
    expect(logins).toHaveLength(1);
    expect(
      s.requests
        .filter((r) => r.url === '/redfish/v1/Managers/1')
        .every((r) => String(r.headers['x-auth-token']).startsWith(TOKEN)),
    ).toBe(true);
    expect(s.requests.some((r) => r.headers.authorization !== undefined)).toBe(false);
    expect(svc.live.size).toBe(1);
    await expect(c.logout()).resolves.toBe(true);
    expect(svc.live.size).toBe(0);
    expect(s.requests.at(-1)).toMatchObject({ method: 'DELETE', url: '/redfish/v1/SessionService/Sessions/1' });
  });

  it('posts JSON and returns the parsed answer', async () => {
    const s = await serve(redfishService().handler);
    const res = await client(s.origin).post('Managers/1/Actions/Echo', { SessionTypeName: 'Dell' });
    expect(res).toMatchObject({ status: 200, body: { SessionTypeName: 'Dell' } });
  });

  it('logs in again once when the BMC expired the session', async () => {
    const svc = redfishService();
    const s = await serve(svc.handler);
    const c = client(s.origin);
    await c.get('Managers/1');
    svc.expire();
    await expect(c.get('Managers/1')).resolves.toMatchObject({ Id: '1' });
    expect(s.requests.filter((r) => r.method === 'POST' && r.url.endsWith('/Sessions'))).toHaveLength(2);
  });

  it('falls back to Basic auth when the BMC has no SessionService', async () => {
    const s = await serve(redfishService({ sessions: false }).handler);
    const c = client(s.origin);
    await expect(c.get('Managers/1')).resolves.toMatchObject({ Id: '1' });
    expect(c.authMode).toBe('basic');
    await expect(c.logout()).resolves.toBe(false);
  });

  it('wrong password -> auth, and the echoed password is scrubbed from the message', async () => {
    const s = await serve(redfishService({ password: 'the-real-one' }).handler);
    const e = await failure(client(s.origin).get('Managers/1'));
    expect(e.kind).toBe('auth');
    expect(e.status).toBe(401);
    expect(e.message).toContain('rejected the user name or password');
    expect(e.message).toContain('[redacted]');
  });

  it('no user name: reads beyond the root are an auth error that says so', async () => {
    const s = await serve(redfishService().handler);
    const e = await failure(client(s.origin, { username: '', password: '' }).get('Managers/1'));
    expect(e.kind).toBe('auth');
    expect(e.message).toContain('no credentials');
  });

  it('createRedfishClient takes a BmcTarget and honours rootPrefix', async () => {
    const s = await serve((req, res) =>
      req.url === '/custom/rf/' ? sendJson(res, 200, ROOT) : sendJson(res, 404, {}),
    );
    const c = createRedfishClient({
      origin: s.origin,
      rootPrefix: '/custom/rf',
      username: '',
      password: '',
      verifyCa: false,
    });
    clients.push(c);
    await expect(c.get('')).resolves.toMatchObject({ Id: 'RootService' });
  });

  it('refuses an origin with user info without echoing it', () => {
    expect(() => new RedfishClient({ origin: `https://root:${PASSWORD}@10.0.0.1` })).toThrow(
      /must not contain user info/,
    );
    try {
      new RedfishClient({ origin: `https://root:${PASSWORD}@10.0.0.1` });
    } catch (e) {
      expect(String(e)).not.toContain(PASSWORD);
    }
  });
});
