// Console bytes reach the browser in websocket frames of at most BROWSER_FRAME_BYTES (a ws client then never has to
// copy a frame that spans its socket reads), intact and in order; a small update stays one frame.
import { createHash, randomBytes } from 'node:crypto';
import type { Server } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { BROWSER_FRAME_BYTES } from '../src/console-session.js';
import { startProxy, type RunningProxy } from '../src/server.js';
import { startFakeAgent, type FakeAgent } from './fake-agent.js';
import { startStreamingConsole, TINY_SERVER_INIT } from './fake-console.js';

let agent: FakeAgent;
let proxy: RunningProxy;
let consoleServer: Server;
let consolePort: number;
/** What the fake console writes on each new connection after the RFB handshake, in one write. */
let payload: Buffer;
beforeAll(async () => {
  agent = await startFakeAgent();
  proxy = await startProxy({ port: 0, agentUrl: agent.url }, { logger: pino({ level: 'silent' }) });
  // The proxy ends the RFB handshake itself (security None here), then relays what follows ServerInit.
  ({ server: consoleServer, port: consolePort } = await startStreamingConsole((s) => s.write(payload)));
});

afterAll(async () => {
  await proxy?.close();
  await agent?.close();
  consoleServer?.close();
});

/** Opens a session and collects its binary messages until `bytes` bytes arrived. */
function receive(bytes: number): Promise<Buffer[]> {
  const token = agent.issue({ node: 'frames', host: '127.0.0.1', port: consolePort });
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${proxy.url.replace('http', 'ws')}/websockify?node=frames&token=${token}`, {
      perMessageDeflate: false,
    });
    const messages: Buffer[] = [];
    let got = 0;
    // The viewer's side of the handshake: the proxy's 3.8 and None, ClientInit, ServerInit (each its own frame).
    const answers = [Buffer.from('RFB 003.008\n'), Buffer.from([1]), Buffer.from([1])];
    let handshake = 4;
    ws.on('message', (data, isBinary) => {
      if (!isBinary) return reject(new Error('text frame'));
      const b = data as Buffer;
      if (handshake > 0) {
        handshake--;
        const answer = answers.shift();
        if (answer) ws.send(answer);
        else if (!b.equals(TINY_SERVER_INIT)) reject(new Error('expected ServerInit'));
        return;
      }
      messages.push(Buffer.from(b));
      got += b.length;
      if (got >= bytes) {
        ws.terminate();
        resolve(messages);
      }
    });
    ws.once('error', reject);
  });
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('frames toward the browser', () => {
  it('splits a large console burst into frames of at most BROWSER_FRAME_BYTES, bytes intact and in order', async () => {
    payload = randomBytes(4 * 1024 * 1024 + 123);
    const messages = await receive(payload.length);
    const joined = Buffer.concat(messages);
    expect(joined.length).toBe(payload.length);
    expect(sha(joined)).toBe(sha(payload));
    expect(Math.max(...messages.map((m) => m.length))).toBeLessThanOrEqual(BROWSER_FRAME_BYTES);
    // Most frames are full: the split does not degrade into tiny frames.
    expect(messages.length).toBeLessThan((payload.length / BROWSER_FRAME_BYTES) * 2);
  });

  it('sends a small update as one frame', async () => {
    payload = randomBytes(100);
    const messages = await receive(payload.length);
    expect(messages).toHaveLength(1);
    expect(messages[0]!.equals(payload)).toBe(true);
  });
});
