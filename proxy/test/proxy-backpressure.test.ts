// Backpressure in both directions, with a fake console (a TCP server that floods or stops reading) and a ws client
// that stops reading or floods. Without backpressure the proxy would buffer everything in memory.
import { createHash, randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { ByteReader } from '@bmc-console/common/rfb/byte-reader';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startProxy, type RunningProxy } from '../src/server.js';
import { startFakeAgent, type FakeAgent } from './fake-agent.js';
import { startStreamingConsole, TINY_SERVER_INIT } from './fake-console.js';

const MB = 1024 * 1024;
const TOTAL = 32 * MB;
/**
 * What the console floods: most of what it gets written while the viewer stalls sits in loopback kernel buffers
 * (the proxy's receive buffer autotunes to several MB; ~16 MB in all was seen), so the flood must be well beyond them.
 */
const FLOOD = 64 * MB;
let agent: FakeAgent;
let proxy: RunningProxy;

beforeAll(async () => {
  agent = await startFakeAgent();
  proxy = await startProxy(
    { port: 0, agentUrl: agent.url, limits: { highWaterMarkBytes: 256 * 1024, maxPayloadBytes: MB } },
    { logger: pino({ level: 'silent' }) },
  );
});

afterAll(async () => {
  await proxy?.close();
  await agent?.close();
});

async function settled(read: () => number | Promise<number>): Promise<number> {
  let last = -1;
  let same = 0;
  for (let i = 0; i < 100 && same < 3; i++) {
    await new Promise((r) => setTimeout(r, 200));
    const now = await read();
    same = now === last ? same + 1 : 0;
    last = now;
  }
  return last;
}

/**
 * A websocket through the proxy, past the RFB handshake; `onConsole` gets every console byte after ServerInit
 * (some may arrive in the same read as ServerInit).
 */
async function open(port: number, onConsole: (d: Buffer) => void = () => {}): Promise<WebSocket> {
  const token = agent.issue({ node: 'bp', host: '127.0.0.1', port });
  const ws = new WebSocket(`${proxy.url.replace('http', 'ws')}/websockify?node=bp&token=${token}`, {
    perMessageDeflate: false,
  });
  const r = new ByteReader();
  let relaying = false;
  ws.on('message', (d: Buffer) => (relaying ? onConsole(d) : r.push(Buffer.from(d))));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  await r.read(12);
  ws.send(Buffer.from('RFB 003.008\n'));
  await r.read(2);
  ws.send(Buffer.from([1]));
  await r.read(4);
  ws.send(Buffer.from([1]));
  await r.read(TINY_SERVER_INIT.length);
  relaying = true;
  const early = r.drain();
  if (early.length) onConsole(early);
  return ws;
}

describe('proxy backpressure (fake console)', () => {
  it('stops reading the console while the browser does not read, and delivers everything once it does, intact', async () => {
    let written = 0;
    // Random bytes, hashed on both ends: the proxy reuses its read buffers, so a buffer handed back before the
    // websocket wrote it would show up as different bytes.
    const sent = createHash('sha256');
    const { server, port } = await startStreamingConsole((s) => {
      const pump = () => {
        while (written < FLOOD) {
          const chunk = randomBytes(MB);
          sent.update(chunk);
          written += chunk.length;
          if (!s.write(chunk)) return void s.once('drain', pump);
        }
      };
      pump();
    });
    let received = 0;
    const got = createHash('sha256');
    let done = () => {};
    const all = new Promise<void>((resolve) => (done = resolve));
    const ws = await open(port, (d) => {
      got.update(d);
      received += d.length;
      if (received >= FLOOD) done();
    });
    ws.pause(); // the "browser" stops reading
    const stalledAt = await settled(() => written);
    expect(stalledAt).toBeLessThan(FLOOD / 2);
    ws.resume();
    await all;
    expect(received).toBe(FLOOD);
    expect(got.digest('hex')).toBe(sent.digest('hex'));
    ws.close();
    server.close();
  });

  it('stops reading the browser while the console does not read', async () => {
    let consoleSocket: Socket | undefined;
    const { server, port } = await startStreamingConsole((s) => {
      consoleSocket = s;
      s.pause(); // the console stops reading
    });
    const ws = await open(port);
    // Every viewer byte must be a client message now: one ClientCutText whose text is the rest of the flood
    // (the proxy forwards a long one in pieces as it arrives).
    const chunk = Buffer.alloc(512 * 1024, 1);
    const first = Buffer.from(chunk);
    first.writeUInt32BE(0x06000000, 0);
    first.writeInt32BE(TOTAL - 8, 4);
    for (let i = 0; i < TOTAL / chunk.length; i++) ws.send(i === 0 ? first : chunk);
    // What the proxy has taken from the browser stays small: it stopped reading the websocket.
    const toConsole = async () =>
      (await proxy.metrics.bytes.get()).values.find((v) => v.labels.direction === 'to_console')?.value ?? 0;
    const taken = await settled(toConsole);
    expect(taken).toBeLessThan(TOTAL / 4);
    let got = 0;
    consoleSocket?.on('data', (d: Buffer) => (got += d.length));
    consoleSocket?.resume();
    await expect.poll(() => got, { timeout: 30_000 }).toBe(TOTAL);
    ws.close();
    server.close();
  });
});
