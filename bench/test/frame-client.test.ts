import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { openFrameClient } from '../src/frame-client.js';

describe('frame-level websocket client (against a ws server on loopback)', () => {
  let server: WebSocketServer;
  let url: string;
  const connections: WebSocket[] = [];
  beforeAll(async () => {
    server = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      handleProtocols: (p) => (p.has('binary') ? 'binary' : false),
      verifyClient: (info: { req: { url?: string } }) => !info.req.url?.startsWith('/refuse'),
    });
    server.on('connection', (ws) => connections.push(ws));
    await new Promise((r) => server.once('listening', r));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/path?token=x`;
  });
  afterAll(async () => {
    for (const ws of connections) ws.terminate();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('hands on every payload byte in order across frame sizes, answers pings and sends masked frames', async () => {
    const received: Buffer[] = [];
    const failures: Error[] = [];
    const client = await openFrameClient(
      url,
      (b) => received.push(Buffer.from(b)),
      (e) => failures.push(e),
      5000,
    );
    const ws = connections.at(-1)!;
    // 7-bit, 16-bit and 64-bit payload lengths, and an empty frame.
    const parts = [randomBytes(5), randomBytes(300), Buffer.alloc(0), randomBytes(70_000)];
    const pong = new Promise<Buffer>((r) => ws.once('pong', r));
    ws.ping(Buffer.from('are you there'));
    for (const p of parts) ws.send(p, { binary: true });
    expect((await pong).toString()).toBe('are you there');
    const echo = new Promise<Buffer>((r) => ws.once('message', (d) => r(d as Buffer)));
    const sent = randomBytes(200);
    client.write(sent);
    expect(Buffer.compare(await echo, sent)).toBe(0);
    await new Promise((r) => setTimeout(r, 100));
    expect(Buffer.compare(Buffer.concat(received), Buffer.concat(parts))).toBe(0);
    expect(failures).toEqual([]);
    client.close();
  });

  it('reports a refused upgrade and a wss:// address as errors', async () => {
    await expect(
      openFrameClient(
        url.replace('/path', '/refuse'),
        () => {},
        () => {},
        5000,
      ),
    ).rejects.toThrow(/upgrade refused: HTTP\/1.1 401/);
    await expect(
      openFrameClient(
        url.replace('ws://', 'wss://'),
        () => {},
        () => {},
        5000,
      ),
    ).rejects.toThrow(/ws:\/\/ only/);
  });
});
