// Backpressure in both directions, with a fake console (a TCP server that floods or stops reading) and a ws client
// that stops reading or floods. Without backpressure the proxy would buffer everything in memory.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startProxy, type RunningProxy } from '../src/server.js';
import { startFakeAgent, type FakeAgent } from './fake-agent.js';

const MB = 1024 * 1024;
const TOTAL = 32 * MB;
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

async function fakeConsole(onConn: (s: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => {
    s.on('error', () => {});
    onConn(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port };
}

/** Samples a counter until it stops moving (three equal samples 200 ms apart, at most ~20 s). */
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

function open(port: number): Promise<WebSocket> {
  const token = agent.issue({ node: 'bp', host: '127.0.0.1', port });
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${proxy.url.replace('http', 'ws')}/websockify?node=bp&token=${token}`, {
      perMessageDeflate: false,
    });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

describe('proxy backpressure (fake console)', () => {
  it('stops reading the console while the browser does not read, and delivers everything once it does, intact', async () => {
    let written = 0;
    // Random bytes, hashed on both ends: the proxy reuses its read buffers, so a buffer handed back before the
    // websocket wrote it would show up as different bytes.
    const sent = createHash('sha256');
    const { server, port } = await fakeConsole((s) => {
      const pump = () => {
        while (written < TOTAL) {
          const chunk = randomBytes(MB);
          sent.update(chunk);
          written += chunk.length;
          if (!s.write(chunk)) return void s.once('drain', pump);
        }
      };
      pump();
    });
    const ws = await open(port);
    ws.pause(); // the "browser" stops reading
    const stalledAt = await settled(() => written);
    expect(stalledAt).toBeLessThan(TOTAL / 2);
    let received = 0;
    const got = createHash('sha256');
    const all = new Promise<void>((resolve) =>
      ws.on('message', (d: Buffer) => {
        got.update(d);
        received += d.length;
        if (received >= TOTAL) resolve();
      }),
    );
    ws.resume();
    await all;
    expect(received).toBe(TOTAL);
    expect(got.digest('hex')).toBe(sent.digest('hex'));
    ws.close();
    server.close();
  });

  it('stops reading the browser while the console does not read', async () => {
    let consoleSocket: Socket | undefined;
    const { server, port } = await fakeConsole((s) => {
      consoleSocket = s;
      s.pause(); // the console stops reading
    });
    const ws = await open(port);
    const chunk = Buffer.alloc(512 * 1024, 1);
    for (let i = 0; i < TOTAL / chunk.length; i++) ws.send(chunk);
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
