// Test helper: serves the viewer and replay pages the way the proxy does (its static file map, its CSP), with the
// API routes and the /websockify socket left to the test. Also the few RFB bytes the page tests need.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { staticFileMap } from '../src/static-files.js';

const PAGES: Record<string, string> = {
  '/': '/static/index.html',
  '/index.html': '/static/index.html',
  '/replay.html': '/static/replay.html',
};

// The proxy's Content-Security-Policy (proxy/src/server.ts): a page that breaks it fails here too.
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export type Route = (req: IncomingMessage, res: ServerResponse, url: URL) => boolean | Promise<boolean>;

export interface PageServer {
  url: string;
  /** Websocket connections to /websockify, with the subprotocol the server selected ('' for none). */
  sockets: WebSocket[];
  close(): Promise<void>;
}

interface PageServerOptions {
  route?: Route;
  /** The subprotocol to select from those a viewer offers; false selects none (like an older proxy). */
  selectProtocol?: (offered: Set<string>) => string | false;
  onSocket?: (ws: WebSocket, req: IncomingMessage) => void;
}

export async function startPageServer(opts: PageServerOptions): Promise<PageServer> {
  const files = staticFileMap();
  const sockets: WebSocket[] = [];
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: (offered) => (opts.selectProtocol ? opts.selectProtocol(offered) : false),
  });
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://page.invalid');
    void (async () => {
      if (opts.route && (await opts.route(req, res, url))) return;
      const file = files.get(PAGES[url.pathname] ?? url.pathname);
      if (!file) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      res
        .writeHead(200, { 'content-type': file.type, 'content-security-policy': CSP, 'cache-control': 'no-store' })
        .end(file.body);
    })();
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    if (!req.url?.startsWith('/websockify')) return socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.push(ws);
      opts.onSocket?.(ws, req);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sockets,
    close: async () => {
      for (const ws of sockets) ws.terminate();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export function json(res: ServerResponse, status: number, body: unknown): true {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  return true;
}

/** ServerInit: size, a 32 bpp true-colour pixel format (x11vnc's), and a name. */
export function serverInit(width: number, height: number, name = 'test'): Buffer {
  const n = Buffer.from(name);
  const b = Buffer.alloc(24 + n.length);
  b.writeUInt16BE(width, 0);
  b.writeUInt16BE(height, 2);
  Buffer.from([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0]).copy(b, 4);
  b.writeUInt32BE(n.length, 20);
  n.copy(b, 24);
  return b;
}

/**
 * The server side of an RFB 3.8 handshake with security None: the version, then (after the client's version)
 * the security type, SecurityResult OK and ServerInit.
 */
export function serverHandshake(width: number, height: number): [Buffer, Buffer] {
  return [Buffer.from('RFB 003.008\n'), Buffer.concat([Buffer.from([1, 1, 0, 0, 0, 0]), serverInit(width, height)])];
}

/** SetPixelFormat as noVNC sends it: 32 bpp, depth 24, little-endian, true colour, red/green/blue at 0/8/16. */
export function novncSetPixelFormat(bpp = 32): Buffer {
  return Buffer.from([0, 0, 0, 0, bpp, 24, 0, 1, 0, 255, 0, 255, 0, 255, 0, 8, 16, 0, 0, 0]);
}

/** A FramebufferUpdate with one raw rectangle of one colour, in noVNC's pixel format. */
export function rawRect(x: number, y: number, w: number, h: number, [r, g, b]: [number, number, number]): Buffer {
  const head = Buffer.alloc(4 + 12);
  head.writeUInt16BE(1, 2);
  head.writeUInt16BE(x, 4);
  head.writeUInt16BE(y, 6);
  head.writeUInt16BE(w, 8);
  head.writeUInt16BE(h, 10);
  head.writeInt32BE(0, 12);
  const px = Buffer.alloc(w * h * 4);
  for (let i = 0; i < w * h; i++) px.set([r, g, b, 0], i * 4);
  return Buffer.concat([head, px]);
}
