// Test helpers for the emulator's RFB sockets: a TCP<->websocket bridge for the common RfbClient, and a raw byte
// reader over a websocket for dialects RfbClient cannot decode (iDRAC's RGB565 and preamble).
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { ByteReader } from '@bmc-console/common/rfb/byte-reader';
import { createWebSocketStream, WebSocket } from 'ws';

export interface WsTarget {
  url: string;
  protocols: string[];
  cookie?: string;
}

export interface TcpBridge {
  port: number;
  close(): Promise<void>;
}

/** A local TCP port that carries each connection over a new websocket to `t`. */
export async function startTcpBridge(t: WsTarget): Promise<TcpBridge> {
  const open = new Set<Socket>();
  const server: Server = createServer((sock) => {
    open.add(sock);
    sock.on('close', () => open.delete(sock));
    sock.on('error', () => {});
    const ws = openWs(t);
    ws.on('close', () => sock.destroy());
    ws.on('error', () => sock.destroy());
    const stream = createWebSocketStream(ws);
    stream.on('error', () => sock.destroy());
    sock.pipe(stream).pipe(sock);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        for (const s of open) s.destroy();
      }),
  };
}

function openWs(t: WsTarget): WebSocket {
  return new WebSocket(t.url, t.protocols, {
    rejectUnauthorized: false,
    perMessageDeflate: false,
    headers: t.cookie ? { cookie: t.cookie } : {},
  });
}

/** A websocket read as a byte stream: read(n) resolves with exactly n bytes; `closed` with the close code. */
export interface RawWs {
  ws: WebSocket;
  read(n: number): Promise<Buffer>;
  u32(): Promise<number>;
  send(bytes: number[] | Buffer): void;
  closed: Promise<{ code: number; reason: string }>;
}

export function rawWs(t: WsTarget): Promise<RawWs> {
  const ws = openWs(t);
  const reader = new ByteReader();
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => {
      reader.fail(new Error(`websocket closed (${code} ${reason.toString()})`));
      resolve({ code, reason: reason.toString() });
    }),
  );
  ws.on('message', (d: Buffer) => reader.push(Buffer.from(d)));
  return new Promise((resolve, reject) => {
    ws.on('error', reject);
    ws.on('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
    ws.on('open', () =>
      resolve({
        ws,
        read: (n) => reader.read(n),
        u32: async () => (await reader.read(4)).readUInt32BE(0),
        send: (b) => ws.send(Buffer.isBuffer(b) ? b : Buffer.from(b)),
        closed,
      }),
    );
  });
}
