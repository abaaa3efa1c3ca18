// Test helper: a local TCP port that carries each connection over one websocket to the proxy, so the common
// RfbClient can talk RFB through the proxy exactly as a browser viewer would.
import { createServer, type AddressInfo, type Server } from 'node:net';
import { createWebSocketStream, WebSocket } from 'ws';

export interface WsBridge {
  port: number;
  /** Close code and reason of the last websocket that closed. */
  lastClose: { code: number; reason: string } | undefined;
  close(): Promise<void>;
}

export async function startWsBridge(
  wsUrl: string,
  headers: Record<string, string> = {},
  wsOptions: { ca?: string } = {},
): Promise<WsBridge> {
  const bridge: WsBridge = { port: 0, lastClose: undefined, close: async () => {} };
  const server: Server = createServer((sock) => {
    sock.on('error', () => {});
    const ws = new WebSocket(wsUrl, { headers, perMessageDeflate: false, ...wsOptions });
    ws.on('close', (code, reason) => {
      bridge.lastClose = { code, reason: reason.toString() };
      sock.destroy();
    });
    ws.on('error', () => sock.destroy());
    const stream = createWebSocketStream(ws);
    stream.on('error', () => sock.destroy());
    sock.pipe(stream).pipe(sock);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  bridge.port = (server.address() as AddressInfo).port;
  bridge.close = () => new Promise<void>((r) => server.close(() => r()));
  return bridge;
}
