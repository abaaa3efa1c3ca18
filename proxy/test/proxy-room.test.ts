import type { RecordingEvent } from '@bmc-console/common/contracts/recording';
import {
  VIEWER_CHANNEL_PROTOCOL,
  presenceMessageSchema,
  refusedMessageSchema,
  type PresenceMessage,
  type RefusedMessage,
} from '@bmc-console/common/contracts/viewer-channel';
import { ByteReader } from '@bmc-console/common/rfb/byte-reader';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { RecordedSession, SessionRecorder } from '../src/recording/session-recorder.js';
import { startProxy, type RunningProxy } from '../src/server.js';
import { captureLogs } from './log-capture.js';
import { startFakeAgent, type FakeAgent } from './fake-agent.js';
import { startFakeConsole, UPDATE, type FakeConsole } from './fake-console.js';
import { closed } from './ws-upgrade.js';

const NODE = 'room-node';
const PASSWORD = 'room-pw1';

/** A viewer on a raw websocket: binary frames feed an RFB reader, text frames are kept parsed. */
class Viewer {
  readonly reader = new ByteReader();
  readonly texts: unknown[] = [];
  private wake: (() => void) | undefined;
  serverInit = Buffer.alloc(0);

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d: Buffer, isBinary) => {
      if (isBinary) this.reader.push(Buffer.from(d));
      else this.texts.push(JSON.parse(d.toString()));
      this.wake?.();
    });
    ws.on('close', () => this.reader.fail(new Error('websocket closed')));
  }

  static async open(url: string, origin: string, protocols: string[]): Promise<Viewer> {
    const ws = new WebSocket(url, protocols, { headers: { Origin: origin }, perMessageDeflate: false });
    const v = new Viewer(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return v;
  }

  /** RFB 3.8 with security None (the proxy's side), ClientInit unshared, ServerInit. */
  async handshake(): Promise<void> {
    expect((await this.reader.read(12)).toString('latin1')).toBe('RFB 003.008\n');
    this.ws.send(Buffer.from('RFB 003.008\n'));
    expect([...(await this.reader.read(2))]).toEqual([1, 1]);
    this.ws.send(Buffer.from([1]));
    expect((await this.reader.read(4)).readUInt32BE(0)).toBe(0);
    this.ws.send(Buffer.from([0])); // unshared: the proxy must still ask the console for a shared session
    const head = await this.reader.read(24);
    this.serverInit = Buffer.concat([head, await this.reader.read(head.readUInt32BE(20))]);
  }

  key(keysym: number): void {
    const b = Buffer.from([4, 1, 0, 0, 0, 0, 0, 0]);
    b.writeUInt32BE(keysym, 4);
    this.ws.send(b);
  }

  /** Sends an update request and waits for the console's answer: everything sent before it has arrived. */
  async sync(): Promise<void> {
    this.ws.send(Buffer.from([3, 0, 0, 0, 0, 0, 0, 1, 0, 1]));
    expect(await this.reader.read(UPDATE.length)).toEqual(UPDATE);
  }

  request(o: unknown): void {
    this.ws.send(typeof o === 'string' ? o : JSON.stringify(o));
  }

  /** Waits for a text message that satisfies `pred`. */
  async text<T>(pred: (m: unknown) => m is T, ms = 3000): Promise<T> {
    const until = Date.now() + ms;
    for (;;) {
      const found = this.texts.find(pred);
      if (found !== undefined) return found;
      if (Date.now() > until) throw new Error(`no such message; got ${JSON.stringify(this.texts)}`);
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 50);
      });
    }
  }

  presence(check: (p: PresenceMessage) => boolean = () => true): Promise<PresenceMessage> {
    return this.text((m): m is PresenceMessage => {
      const p = presenceMessageSchema.safeParse(m);
      return p.success && check(p.data);
    });
  }

  refused(): Promise<RefusedMessage> {
    return this.text((m): m is RefusedMessage => refusedMessageSchema.safeParse(m).success);
  }

  close(): Promise<{ code: number; reason: string }> {
    const done = closed(this.ws);
    this.ws.close();
    return done;
  }
}

let fake: FakeConsole;
let agent: FakeAgent;
let proxy: RunningProxy;
const logs = captureLogs();
const logLines = logs.lines;
const recordings: Array<{
  s: RecordedSession;
  console: Buffer[];
  viewer: Array<[Buffer, boolean]>;
  events: RecordingEvent[];
  closed: boolean;
}> = [];

beforeAll(async () => {
  [fake, agent] = await Promise.all([startFakeConsole(PASSWORD), startFakeAgent()]);
  proxy = await startProxy(
    { port: 0, agentUrl: agent.url, limits: { maxSessionsPerNode: 10, failedTokenBurst: 100 } },
    {
      logger: logs.logger,
      recorders: (s) => {
        if (s.user === 'no-disk') throw new Error('recording directory is full');
        const rec = {
          s,
          console: [] as Buffer[],
          viewer: [] as Array<[Buffer, boolean]>,
          events: [] as RecordingEvent[],
          closed: false,
        };
        recordings.push(rec);
        const tap: SessionRecorder = {
          consoleBytes: (b) => void rec.console.push(Buffer.from(b)),
          viewerMessage: (b, dropped) => void rec.viewer.push([Buffer.from(b), dropped]),
          event: (e) => void rec.events.push(e),
          close: async () => void (rec.closed = true),
        };
        return tap;
      },
    },
  );
});

afterAll(async () => {
  await proxy?.close();
  await Promise.all([agent?.close(), fake?.close()]);
});

beforeEach(() => {
  fake.keys.length = 0;
  fake.shared.length = 0;
});

const url = (token: string, node = NODE) =>
  `${proxy.url.replace(/^http/, 'ws')}/websockify?node=${node}&token=${encodeURIComponent(token)}`;

type Grant = Parameters<FakeAgent['issue']>[0];
async function viewer(grant: Partial<Grant>, protocols = [VIEWER_CHANNEL_PROTOCOL, 'binary']): Promise<Viewer> {
  const token = agent.issue({ node: NODE, host: '127.0.0.1', port: fake.port, vncPassword: PASSWORD, ...grant });
  const v = await Viewer.open(url(token, grant.node ?? NODE), proxy.url, protocols);
  await v.handshake();
  return v;
}

async function metric(re: RegExp): Promise<number> {
  const text = await (await fetch(`${proxy.url}/metrics`)).text();
  const m = re.exec(text);
  return m ? Number(m[1]) : 0;
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
}

describe('console rooms through the proxy (fake console)', () => {
  it("drops a view-only viewer's keys and counts them, passes the control viewer's; presence names both", async () => {
    const droppedBefore = await metric(/bmc_proxy_input_dropped_total\{reason="view-only"\} (\d+)/);
    const alice = await viewer({ user: 'alice' });
    const bob = await viewer({ user: 'bob', role: 'view' });
    expect(alice.serverInit).toEqual(fake.serverInit);
    expect(fake.shared).toEqual([1, 1]); // asked unshared, relayed as shared: one viewer must not throw out another
    alice.key(0x61);
    bob.key(0x62);
    await Promise.all([alice.sync(), bob.sync()]);
    expect(fake.keys).toEqual([0x61]);
    expect(await metric(/bmc_proxy_input_dropped_total\{reason="view-only"\} (\d+)/)).toBe(droppedBefore + 1);
    expect(await metric(/bmc_proxy_viewers\{node="room-node"\} (\d+)/)).toBe(2);

    const p = await bob.presence((m) => m.viewers.length === 2);
    expect(p).toMatchObject({ exclusive: false, holder: null, recording: false });
    expect(p.you).toBe(p.viewers[1]?.session);
    expect(p.viewers.map((w) => [w.user, w.role, w.canType])).toEqual([
      ['alice', 'control', true],
      ['bob', 'view', false],
    ]);
    // Alice's input shows up as last input (presence for input goes out at most once a second).
    const li = await bob.presence((m) => m.lastInput !== null);
    expect(li.lastInput).toMatchObject({ session: p.viewers[0]?.session, user: 'alice' });

    // Hand-over and take-control mean nothing without --exclusive: refused with the reason, session kept.
    alice.request({ type: 'take-control' });
    expect(await alice.refused()).toMatchObject({
      request: 'take-control',
      reason: expect.stringMatching(/--exclusive/),
    });
    await alice.sync();

    const bobId = p.viewers[1]?.session;
    await bob.close();
    await alice.close();
    await until(() => logLines.some((l) => l.event === 'session-end' && l.session === bobId));
    expect(logLines.find((l) => l.event === 'session-end' && l.session === bobId)).toMatchObject({
      user: 'bob',
      role: 'view',
      inputDropped: 1,
    });
    expect(logLines.find((l) => l.event === 'session-start' && l.session === bobId)).toMatchObject({
      user: 'bob',
      role: 'view',
    });
    await until(() => proxy.sessionCount() === 0);
    expect(await metric(/bmc_proxy_viewers\{node="room-node"\} (\d+)/)).toBe(0); // no series left behind
  });

  it('drops input on a read-only console, counted as read-only', async () => {
    const before = await metric(/bmc_proxy_input_dropped_total\{reason="read-only"\} (\d+)/);
    const v = await viewer({ user: 'carl', readOnly: true });
    v.key(0x63);
    v.ws.send(Buffer.from([5, 1, 0, 1, 0, 1])); // pointer
    await v.sync();
    expect(fake.keys).toEqual([]);
    expect(await metric(/bmc_proxy_input_dropped_total\{reason="read-only"\} (\d+)/)).toBe(before + 2);
    expect((await v.presence()).viewers[0]?.canType).toBe(false);
    await v.close();
  });

  it('in an exclusive room only the holder types; hand-over and take-control move control', async () => {
    const x = await viewer({ user: 'xena', exclusive: true });
    const px = await x.presence();
    const xId = px.you;
    expect(px).toMatchObject({ exclusive: true, holder: xId });
    const c = await viewer({ user: 'cleo' });
    const pc = await c.presence((m) => m.viewers.length === 2);
    const cId = pc.you;
    expect(pc.viewers.map((w) => [w.user, w.canType])).toEqual([
      ['xena', true],
      ['cleo', false],
    ]);

    x.key(0x78);
    c.key(0x63);
    await Promise.all([x.sync(), c.sync()]);
    expect(fake.keys).toEqual([0x78]);

    // Only the holder hands over; a bad request is refused without closing the session.
    c.request({ type: 'hand-over', to: xId });
    expect(await c.refused()).toMatchObject({ request: 'hand-over', reason: /only the viewer holding control/ });
    c.request('{"type":"steal"}');
    c.request('not json');
    const refusals = (_m: unknown): _m is RefusedMessage =>
      c.texts.filter((t) => refusedMessageSchema.safeParse(t).success).length >= 3;
    await c.text(refusals);
    expect(
      c.texts.filter((t) => refusedMessageSchema.safeParse(t).success).map((t) => (t as RefusedMessage).request),
    ).toEqual(['hand-over', 'unknown', 'unknown']);
    await c.sync();

    x.request({ type: 'hand-over', to: cId });
    await c.presence((m) => m.holder === cId);
    x.key(0x79);
    c.key(0x64);
    await Promise.all([x.sync(), c.sync()]);
    expect(fake.keys).toEqual([0x78, 0x64]);

    x.request({ type: 'take-control' });
    await c.presence((m) => m.holder === xId);
    c.key(0x65);
    x.key(0x7a);
    await Promise.all([x.sync(), c.sync()]);
    expect(fake.keys).toEqual([0x78, 0x64, 0x7a]);
    expect(logLines.find((l) => l.event === 'hand-over' && l.session === xId)).toMatchObject({
      user: 'xena',
      to: cId,
      toUser: 'cleo',
    });
    expect(logLines.find((l) => l.event === 'take-control' && l.session === xId)).toMatchObject({
      user: 'xena',
      from: cId,
      fromUser: 'cleo',
    });

    // The exclusive viewer leaves: everyone with control types again.
    await x.close();
    await c.presence((m) => m.viewers.length === 1 && !m.exclusive);
    c.key(0x66);
    await c.sync();
    expect(fake.keys.at(-1)).toBe(0x66);
    await c.close();
  });

  it('a viewer without the side channel gets no text frames and is closed (1003) for sending one', async () => {
    const other = await viewer({ user: 'olga' });
    const plain = await viewer({ user: 'paul' }, ['binary']);
    expect(plain.ws.protocol).toBe('binary');
    expect(other.ws.protocol).toBe(VIEWER_CHANNEL_PROTOCOL);
    await other.presence((m) => m.viewers.length === 2);
    plain.key(0x70);
    await plain.sync();
    expect(plain.texts).toEqual([]);
    const done = closed(plain.ws);
    plain.request({ type: 'take-control' });
    expect((await done).code).toBe(1003);
    await other.presence((m) => m.viewers.length === 1);
    await other.close();
  });

  it('taps the recording: ServerInit, console bytes, viewer messages (dropped marked), room events, close', async () => {
    const rec0 = recordings.length;
    const v = await viewer({ user: 'rita', record: true });
    const w = await viewer({ user: 'will', role: 'view', record: true });
    expect(recordings.length).toBe(rec0 + 2);
    const rec = recordings[rec0];
    if (!rec) throw new Error('no recording');
    expect(rec.s).toMatchObject({ node: NODE, user: 'rita', role: 'control', readOnly: false, source: '127.0.0.1' });
    expect(rec.s.serverInit).toEqual(fake.serverInit);
    expect(rec.s.tokenId).toMatch(/^[0-9a-f]{12}$/);
    expect((await v.presence()).recording).toBe(true);
    v.key(0x72);
    w.key(0x77);
    await Promise.all([v.sync(), w.sync()]);
    expect(Buffer.concat(rec.console)).toEqual(UPDATE);
    expect(rec.viewer.map(([b, dropped]) => [b[0], dropped])).toEqual([
      [4, false],
      [3, false],
    ]);
    const recW = recordings[rec0 + 1];
    expect(recW?.viewer.map(([b, dropped]) => [b[0], dropped])).toEqual([
      [4, true],
      [3, false],
    ]);
    expect(rec.events.map((e) => e.event)).toEqual(['joined', 'joined']);
    await w.close();
    await until(() => rec.events.length === 3);
    expect(rec.events[2]).toMatchObject({ event: 'left', user: 'will' });
    await v.close();
    await until(() => rec.closed);
    expect(rec.closed && recW?.closed).toBe(true);
  });

  it('closes with 4505 when a console must be recorded and the recorder cannot start', async () => {
    const token = agent.issue({
      node: NODE,
      host: '127.0.0.1',
      port: fake.port,
      vncPassword: PASSWORD,
      user: 'no-disk',
      record: true,
    });
    const v = await Viewer.open(url(token), proxy.url, ['binary']);
    const done = closed(v.ws);
    await v.handshake().catch(() => undefined);
    expect(await done).toEqual({ code: 4505, reason: 'recording required but not available' });
    expect(logLines.find((l) => l.event === 'session-end' && l.closeCode === 4505)).toMatchObject({
      detail: expect.stringMatching(/recording directory is full/),
    });
  });
});

describe('a console without a VNC password', () => {
  it('gets security None from the proxy, and input still passes message by message', async () => {
    const open = await startFakeConsole();
    try {
      const token = agent.issue({ node: 'open-node', host: '127.0.0.1', port: open.port, user: 'nina' });
      const v = await Viewer.open(url(token, 'open-node'), proxy.url, ['binary']);
      await v.handshake();
      expect(v.serverInit).toEqual(open.serverInit);
      v.key(0x6e);
      await v.sync();
      expect(open.keys).toEqual([0x6e]);
      await v.close();
    } finally {
      await open.close();
    }
  });
});

describe('recording required but the recordings directory cannot be made', () => {
  it('closes with 4505', async () => {
    const bare = await startProxy(
      { port: 0, agentUrl: agent.url, recordings: { dir: '/dev/null/recordings' } },
      { logger: pino({ level: 'silent' }) },
    );
    try {
      const token = agent.issue({
        node: NODE,
        host: '127.0.0.1',
        port: fake.port,
        vncPassword: PASSWORD,
        record: true,
      });
      const ws = new WebSocket(`${bare.url.replace(/^http/, 'ws')}/websockify?node=${NODE}&token=${token}`, {
        headers: { Origin: bare.url },
      });
      ws.on('message', (d: Buffer) => {
        const s = d.toString('latin1');
        if (s === 'RFB 003.008\n') ws.send(Buffer.from(s));
        else if (d.length === 2) ws.send(Buffer.from([1]));
        else if (d.length === 4) ws.send(Buffer.from([1]));
      });
      expect(await closed(ws)).toEqual({ code: 4505, reason: 'recording required but not available' });
    } finally {
      await bare.close();
    }
  });
});
