/**
 * A viewer without a browser: an RFB 3.8 client over the proxy's websocket (security None, as the proxy offers),
 * that keeps asking for incremental updates and counts what arrives. Enough to hold hundreds of sessions on one
 * machine and to tell a live session from a dead one.
 */
import { ByteReader } from '@bmc-console/common/rfb/byte-reader';
import WebSocket from 'ws';

export interface Closed {
  code: number;
  reason: string;
  at: number;
}

/** `ws://…/websockify?node=…&token=…` for the console URL the agent hands out (`<public_url>?path=websockify%3F…`). */
export function wsUrlOf(consoleUrl: string, proxyUrl?: string): string {
  const u = new URL(consoleUrl);
  const path = u.searchParams.get('path');
  if (!path) throw new Error(`console URL has no path parameter: ${u.origin}${u.pathname}`);
  const base = (proxyUrl ?? u.origin).replace(/^http/, 'ws').replace(/\/$/, '');
  return `${base}/${path}`;
}

export function tokenOf(consoleUrl: string): { node: string; token: string } {
  const path = new URL(consoleUrl).searchParams.get('path') ?? '';
  const q = new URLSearchParams(path.slice(path.indexOf('?') + 1));
  return { node: q.get('node') ?? '', token: q.get('token') ?? '' };
}

/** Opens a websocket; resolves on open, rejects with the HTTP status of a refused upgrade (`status 403: token revoked`). */
export function openWs(url: string, timeoutMs = 15_000): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['binary'], { handshakeTimeout: timeoutMs, perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('utf8')));
      res.on('end', () =>
        reject(Object.assign(new Error(`status ${res.statusCode}: ${body.trim()}`), { status: res.statusCode, body })),
      );
      res.on('error', () =>
        reject(Object.assign(new Error(`status ${res.statusCode}`), { status: res.statusCode, body })),
      );
    });
    ws.once('error', (err) => reject(err));
  });
}

export class WsViewer {
  bytes = 0;
  messages = 0;
  closed: Closed | undefined;
  width = 0;
  height = 0;
  private timer: NodeJS.Timeout | undefined;
  private handshaking = true;
  private readonly reader = new ByteReader();

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      if (this.handshaking) return this.reader.push(data);
      this.bytes += data.length;
      this.messages++;
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString('utf8'), at: Date.now() };
      this.reader.fail(new Error(`websocket closed ${code} ${reason.toString('utf8')}`));
      if (this.timer) clearInterval(this.timer);
    });
    ws.on('error', () => {});
  }

  /** Connects and completes the RFB handshake (version, None, ClientInit shared, ServerInit, Raw encoding). */
  static async open(url: string, opts: { timeoutMs?: number; fragment?: boolean } = {}): Promise<WsViewer> {
    const ws = await openWs(url, opts.timeoutMs);
    const v = new WsViewer(ws);
    const send = (b: Buffer) => {
      // Fragmented: the same bytes as several websocket frames of one message (fin=false, then continuations).
      if (opts.fragment && b.length > 1) {
        for (let i = 0; i < b.length; i++) ws.send(b.subarray(i, i + 1), { binary: true, fin: i === b.length - 1 });
      } else ws.send(b, { binary: true });
    };
    const guard = setTimeout(() => ws.terminate(), opts.timeoutMs ?? 15_000);
    try {
      const version = (await v.reader.read(12)).toString('latin1');
      if (!version.startsWith('RFB 003.')) throw new Error(`not an RFB greeting: ${JSON.stringify(version)}`);
      send(Buffer.from('RFB 003.008\n', 'latin1'));
      const n = (await v.reader.read(1))[0]!;
      if (n === 0) throw new Error('the proxy refused the session before security negotiation');
      const types = [...(await v.reader.read(n))];
      if (!types.includes(1)) throw new Error(`security None not offered: ${types.join(',')}`);
      send(Buffer.from([1]));
      const result = (await v.reader.read(4)).readUInt32BE(0);
      if (result !== 0) throw new Error('security result: failed');
      send(Buffer.from([1])); // ClientInit, shared
      const init = await v.reader.read(24);
      v.width = init.readUInt16BE(0);
      v.height = init.readUInt16BE(2);
      await v.reader.read(init.readUInt32BE(20)); // desktop name
      const enc = Buffer.alloc(8);
      enc.writeUInt8(2, 0);
      enc.writeUInt16BE(1, 2);
      enc.writeInt32BE(0, 4); // Raw
      send(enc);
      v.handshaking = false;
      v.requestUpdate(false);
      return v;
    } catch (err) {
      ws.terminate();
      throw err;
    } finally {
      clearTimeout(guard);
    }
  }

  requestUpdate(incremental: boolean): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    const b = Buffer.alloc(10);
    b.writeUInt8(3, 0);
    b.writeUInt8(incremental ? 1 : 0, 1);
    b.writeUInt16BE(this.width, 6);
    b.writeUInt16BE(this.height, 8);
    this.ws.send(b);
  }

  /** Asks for an incremental update every `ms`, like a viewer that is watching. */
  stream(ms = 500): void {
    this.timer = setInterval(() => this.requestUpdate(true), ms);
  }

  /** True when bytes arrive after a full update request (the console still answers through the proxy). */
  async alive(timeoutMs = 10_000): Promise<boolean> {
    const before = this.bytes;
    this.requestUpdate(false);
    const end = Date.now() + timeoutMs;
    while (Date.now() < end && !this.closed) {
      if (this.bytes > before) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return this.bytes > before;
  }

  send(b: Buffer | string, opts: { binary?: boolean } = {}): void {
    this.ws.send(b, { binary: opts.binary ?? typeof b !== 'string' });
  }

  /** Resolves with how the session ended (or undefined if it is still open after `timeoutMs`). */
  async waitClosed(timeoutMs = 10_000): Promise<Closed | undefined> {
    const end = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    return this.closed;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.ws.close(1000);
  }
}
