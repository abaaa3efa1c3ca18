// GET /api/recordings[/<id>] over a real HTTP server, tokens checked by a fake agent through the real verifier.
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRecording } from '../src/recording/recording-reader.js';
import { readAdminToken, recordingRoutes } from '../src/recording/recording-routes.js';
import type { FileSessionRecorder, RecordingFactory } from '../src/recording/recording-writer.js';
import type { SessionRecorder } from '../src/recording/session-recorder.js';
import { AgentTokenVerifier } from '../src/token-verifier.js';
import { startFakeAgent, type FakeAgent } from './fake-agent.js';
import { keyEvent, newFactory, record, session } from './recording-fixtures.js';

const ADMIN = 'admin-token-0123456789abcdef';
let agent: FakeAgent;
let verifier: AgentTokenVerifier;
let factory: RecordingFactory;
let dir: string;
let server: Server;
let base: string;
let tokenNode1: string;
let tokenNode2: string;
const ids: Record<'good' | 'other' | 'truncated' | 'altered', string> = {
  good: '',
  other: '',
  truncated: '',
  altered: '',
};
let open: FileSessionRecorder;

beforeAll(async () => {
  agent = await startFakeAgent();
  verifier = new AgentTokenVerifier(agent.url);
  ({ factory } = newFactory());
  dir = factory.store.dir;
  const typing = (r: SessionRecorder) => {
    r.consoleBytes(Buffer.from('frame'));
    r.viewerMessage(keyEvent(true, 0x61), false);
  };
  ids.good = await record(factory, session({ start: new Date(Date.now() - 4000) }), typing);
  ids.other = await record(factory, session({ node: 'node-2', start: new Date(Date.now() - 3000) }), typing);
  ids.truncated = await record(factory, session({ start: new Date(Date.now() - 2000) }), typing);
  ids.altered = await record(factory, session({ start: new Date(Date.now() - 1000) }), typing);
  const t = join(dir, `${ids.truncated}.bmcrec`);
  truncateSync(t, readFileSync(t).length - 20);
  const a = join(dir, `${ids.altered}.bmcrec`);
  const bytes = readFileSync(a);
  bytes[bytes.length - 50] = (bytes[bytes.length - 50] as number) ^ 0xff;
  writeFileSync(a, bytes);
  open = factory(session());

  const handle = recordingRoutes({ store: factory.store, key: factory.key, verifier, adminToken: ADMIN });
  server = createServer((req, res) => {
    handle(req, res).then((handled) => {
      if (!handled) res.writeHead(418).end('not mine');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  tokenNode1 = agent.issue({ node: 'node-1', host: '127.0.0.1', port: 5900 });
  tokenNode2 = agent.issue({ node: 'node-2', host: '127.0.0.1', port: 5900 });
});

afterAll(async () => {
  await open?.close();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  verifier?.close();
  await agent?.close();
});

const get = (path: string, headers: Record<string, string> = {}) => fetch(`${base}${path}`, { headers });
const q = (node: string, token: string) => `?node=${node}&token=${encodeURIComponent(token)}`;

describe('recording routes', () => {
  it("lists one node's recordings for a token of that node", async () => {
    const res = await get(`/api/recordings${q('node-1', tokenNode1)}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as {
      recordings: Array<{ id: string; node: string; complete: boolean; recording: boolean }>;
    };
    expect(body.recordings.map((r) => r.id)).toEqual([ids.good, ids.truncated, ids.altered, open.id]);
    expect(body.recordings.every((r) => r.node === 'node-1')).toBe(true);
    expect(body.recordings.find((r) => r.id === open.id)).toMatchObject({ recording: true, complete: false });
  });

  it('returns the verified bytes of a recording', async () => {
    const res = await get(`/api/recordings/${ids.good}${q('node-1', tokenNode1)}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.equals(readFileSync(join(dir, `${ids.good}.bmcrec`)))).toBe(true);
    expect(readRecording(bytes, factory.key()).header.id).toBe(ids.good);
  });

  it('answers 403 to a refused token, 400 without one, 404 to an unknown id or another node, 409 while recording', async () => {
    const refused = await get(`/api/recordings${q('node-1', tokenNode2)}`);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({ error: 'token wrong-node' });
    expect((await get(`/api/recordings${q('node-1', 'no-such-token-at-all')}`)).status).toBe(403);
    expect((await get(`/api/recordings/${ids.good}${q('node-1', 'no-such-token-at-all')}`)).status).toBe(403);
    expect((await get('/api/recordings')).status).toBe(400);
    expect((await get(`/api/recordings/20200101T000000Z-node-1-00000000${q('node-1', tokenNode1)}`)).status).toBe(404);
    expect((await get(`/api/recordings/..%2F..%2Fetc%2Fpasswd${q('node-1', tokenNode1)}`)).status).toBe(404);
    // node-2's recording with a valid node-1 token: not found, and not told apart from a missing one.
    const other = await get(`/api/recordings/${ids.other}${q('node-1', tokenNode1)}`);
    expect(other.status).toBe(404);
    expect(await other.json()).toEqual({ error: `no recording ${ids.other}` });
    expect((await get(`/api/recordings/${ids.other}${q('node-2', tokenNode2)}`)).status).toBe(200);
    expect((await get(`/api/recordings/${open.id}${q('node-1', tokenNode1)}`)).status).toBe(409);
    expect((await fetch(`${base}/api/recordings`, { method: 'POST' })).status).toBe(405);
    expect((await get('/elsewhere')).status).toBe(418);
  });

  it('refuses a view-only link by default: the timeline shows every key the controllers typed', async () => {
    const viewOnly = agent.issue({ node: 'node-1', host: '127.0.0.1', port: 5900, role: 'view' });
    const list = await get(`/api/recordings${q('node-1', viewOnly)}`);
    expect(list.status).toBe(403);
    expect(await list.json()).toEqual({
      error: 'a view link may not replay recordings on this proxy (recordings.replayRoles)',
    });
    expect((await get(`/api/recordings/${ids.good}${q('node-1', viewOnly)}`)).status).toBe(403);
    const both = recordingRoutes({
      store: factory.store,
      key: factory.key,
      verifier,
      replayRoles: ['control', 'view'],
    });
    const server2 = createServer((req, res) => void both(req, res));
    await new Promise<void>((r) => server2.listen(0, '127.0.0.1', r));
    try {
      const port = (server2.address() as AddressInfo).port;
      const res = await fetch(`http://127.0.0.1:${port}/api/recordings${q('node-1', viewOnly)}`);
      expect(res.status).toBe(200);
    } finally {
      server2.closeAllConnections();
      await new Promise((r) => server2.close(r));
    }
  });

  it('answers 422 with the reason for a truncated or altered recording', async () => {
    const t = await get(`/api/recordings/${ids.truncated}${q('node-1', tokenNode1)}`);
    expect(t.status).toBe(422);
    const tb = (await t.json()) as { error: string; problem: string };
    expect(tb.problem).toBe('truncated');
    expect(tb.error).toMatch(new RegExp(`^recording ${ids.truncated}: cut short after \\d+ bytes: the proxy stopped`));
    expect(tb.error).not.toContain(dir); // no server paths in answers
    const a = await get(`/api/recordings/${ids.altered}${q('node-1', tokenNode1)}`);
    expect(a.status).toBe(422);
    expect(await a.json()).toMatchObject({
      problem: 'altered',
      error: expect.stringMatching(/changed after it was written/),
    });
  });

  it('lets the admin token list and fetch every recording, and refuses a wrong one', async () => {
    const auth = { authorization: `Bearer ${ADMIN}` };
    const list = (await (await get('/api/recordings', auth)).json()) as { recordings: Array<{ id: string }> };
    expect(list.recordings.map((r) => r.id)).toEqual([ids.good, ids.other, ids.truncated, ids.altered, open.id]);
    expect((await get(`/api/recordings/${ids.other}`, auth)).status).toBe(200);
    expect((await get('/api/recordings', { authorization: `Bearer ${ADMIN}x` })).status).toBe(403);
    expect((await get('/api/recordings', { authorization: 'Basic abc' })).status).toBe(403);
    const file = join(dir, '..', 'admin.token');
    writeFileSync(file, `${ADMIN}\n`);
    expect(readAdminToken(file)).toBe(ADMIN);
    writeFileSync(file, 'short\n');
    expect(() => readAdminToken(file)).toThrow(`recordings.adminTokenFile: ${file} must hold one token`);
    // Without an admin token configured, no bearer token opens anything.
    const handle = recordingRoutes({ store: factory.store, key: factory.key, verifier });
    const s = createServer((req, res) => void handle(req, res));
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    try {
      const port = (s.address() as AddressInfo).port;
      expect((await fetch(`http://127.0.0.1:${port}/api/recordings`, { headers: auth })).status).toBe(403);
    } finally {
      s.closeAllConnections();
      s.close();
    }
  });
});
