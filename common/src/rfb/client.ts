import { EventEmitter } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import { attachSocket, ByteReader } from './byte-reader.js';
import { Encoding, Limits, ServerMessage } from './constants.js';
import { asRfbError, RfbError } from './errors.js';
import { checkDimensions, negotiateSecurity, readServerInit, type ServerInit } from './handshake.js';
import { keysymForChar } from './keysym.js';
import * as msg from './messages.js';

export { RfbError } from './errors.js';

export interface RfbConnectOptions {
  host: string;
  port: number;
  password?: string;
  /** Bounds the TCP connect plus handshake, and each requestUpdate. Default 10 s. */
  timeoutMs?: number;
  /** ClientInit shared flag: true keeps other viewers connected. Default true. */
  shared?: boolean;
}

const DEFAULT_TIMEOUT_MS = 10_000;

interface UpdateWaiter {
  resolve: () => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * A small RFB client: handshake (3.3/3.7/3.8, None or VNC auth), Raw/CopyRect/DesktopSize updates into an
 * RGBA framebuffer, key and pointer input. Failures reject promises or emit 'error' (only when someone listens),
 * never throw out of an event handler. Events: 'update' after each applied FramebufferUpdate, 'resize',
 * 'bell', 'cuttext' (string), 'error' (RfbError), 'close' (RfbError | undefined).
 */
export class RfbClient extends EventEmitter {
  private fbWidth: number;
  private fbHeight: number;
  readonly name: string;
  framebuffer: Buffer;
  private waiters: UpdateWaiter[] = [];
  private closedWith: RfbError | undefined;
  private closed = false;

  private constructor(
    private readonly socket: Socket,
    private readonly reader: ByteReader,
    init: ServerInit,
    private readonly timeoutMs: number,
  ) {
    super();
    this.fbWidth = init.width;
    this.fbHeight = init.height;
    this.name = init.name;
    this.framebuffer = Buffer.alloc(init.width * init.height * 4);
  }

  /** Current framebuffer size (changes on DesktopSize). */
  get width(): number {
    return this.fbWidth;
  }

  get height(): number {
    return this.fbHeight;
  }

  static connect(opts: RfbConnectOptions): Promise<RfbClient> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    return new Promise<RfbClient>((resolve, reject) => {
      const reader = new ByteReader();
      const socket = netConnect({ host: opts.host, port: opts.port });
      socket.setNoDelay(true);
      let connected = false;
      socket.once('connect', () => (connected = true));
      // A connect error before any byte is a connect failure, not a protocol one (registered before the reader's).
      socket.once('error', (e) => {
        if (!connected)
          reader.fail(new RfbError(`cannot connect to ${opts.host}:${opts.port}: ${e.message}`, 'connect'));
      });
      const detach = attachSocket(reader, socket);
      const timer = setTimeout(() => {
        reader.fail(
          new RfbError(`RFB handshake with ${opts.host}:${opts.port} timed out after ${timeoutMs} ms`, 'timeout'),
        );
      }, timeoutMs);
      const write = (b: Buffer) => {
        if (!socket.destroyed) socket.write(b);
      };
      (async () => {
        await negotiateSecurity(reader, write, opts.password);
        write(msg.clientInit(opts.shared ?? true));
        const init = await readServerInit(reader);
        return init;
      })().then(
        (init) => {
          clearTimeout(timer);
          detach();
          const client = new RfbClient(socket, reader, init, timeoutMs);
          client.start();
          resolve(client);
        },
        (err: unknown) => {
          clearTimeout(timer);
          detach();
          socket.on('error', () => {}); // late socket errors after failing must not become uncaught
          socket.destroy();
          reject(asRfbError(err));
        },
      );
    });
  }

  /** Asks for an update of the whole screen; resolves after the next FramebufferUpdate has been applied. */
  requestUpdate(incremental = false): Promise<void> {
    if (this.closed) return Promise.reject(this.closedWith ?? new RfbError('RFB client is closed', 'closed'));
    return new Promise<void>((resolve, reject) => {
      const waiter: UpdateWaiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(new RfbError(`no framebuffer update within ${this.timeoutMs} ms`, 'timeout'));
        }, this.timeoutMs),
      };
      this.waiters.push(waiter);
      this.send(msg.framebufferUpdateRequest(incremental, 0, 0, this.width, this.height));
    });
  }

  keyEvent(keysym: number, down: boolean): void {
    this.send(msg.keyEvent(keysym, down));
  }

  pointerEvent(x: number, y: number, buttonMask: number): void {
    this.send(msg.pointerEvent(x, y, buttonMask));
  }

  /** Types text as key presses (press and release per character). Resolves once the bytes are written. */
  async typeText(text: string): Promise<void> {
    for (const ch of text) {
      const ks = keysymForChar(ch);
      this.keyEvent(ks, true);
      this.keyEvent(ks, false);
    }
    await this.flush();
  }

  /** Pixel at (x, y) as [r, g, b]. */
  pixel(x: number, y: number): [number, number, number] {
    const i = (y * this.width + x) * 4;
    return [this.framebuffer[i] ?? 0, this.framebuffer[i + 1] ?? 0, this.framebuffer[i + 2] ?? 0];
  }

  close(): void {
    this.finish(undefined);
  }

  private flush(): Promise<void> {
    if (this.closed) return Promise.reject(this.closedWith ?? new RfbError('RFB client is closed', 'closed'));
    return new Promise((resolve) => this.socket.write(Buffer.alloc(0), () => resolve()));
  }

  private send(b: Buffer): void {
    if (!this.closed && !this.socket.destroyed) this.socket.write(b);
  }

  private start(): void {
    attachSocket(this.reader, this.socket);
    this.socket.on('error', () => {}); // reported through the reader
    this.send(msg.setPixelFormat(msg.RGBX_PIXEL_FORMAT));
    this.send(msg.setEncodings([Encoding.CopyRect, Encoding.Raw, Encoding.DesktopSize]));
    this.readLoop().catch((err: unknown) => this.finish(asRfbError(err)));
  }

  private finish(err: RfbError | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.closedWith = err;
    this.reader.fail(err ?? new RfbError('RFB client closed', 'closed'));
    this.socket.destroy();
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) {
      clearTimeout(w.timer);
      w.reject(err ?? new RfbError('RFB client closed before the update arrived', 'closed'));
    }
    if (err && this.listenerCount('error') > 0) this.emit('error', err);
    this.emit('close', err);
  }

  private async readLoop(): Promise<void> {
    const r = this.reader;
    for (;;) {
      const type = await r.u8();
      switch (type) {
        case ServerMessage.FramebufferUpdate: {
          const head = await r.read(3);
          const count = head.readUInt16BE(1);
          for (let i = 0; i < count; i++) await this.readRect();
          const waiters = this.waiters;
          this.waiters = [];
          for (const w of waiters) {
            clearTimeout(w.timer);
            w.resolve();
          }
          this.emit('update');
          break;
        }
        case ServerMessage.SetColourMapEntries: {
          const head = await r.read(5);
          await r.read(head.readUInt16BE(3) * 6); // we asked for true colour; the map is ignored
          break;
        }
        case ServerMessage.Bell:
          this.emit('bell');
          break;
        case ServerMessage.ServerCutText: {
          const head = await r.read(7);
          const len = head.readUInt32BE(3);
          if (len > Limits.maxCutText) throw new RfbError(`server cut text too long (${len} bytes)`);
          this.emit('cuttext', (await r.read(len)).toString('latin1'));
          break;
        }
        default:
          throw new RfbError(`unknown server message type ${type}`);
      }
    }
  }

  private async readRect(): Promise<void> {
    const h = await this.reader.read(12);
    const x = h.readUInt16BE(0);
    const y = h.readUInt16BE(2);
    const w = h.readUInt16BE(4);
    const ht = h.readUInt16BE(6);
    const encoding = h.readInt32BE(8);
    if (encoding === Encoding.DesktopSize) {
      checkDimensions(w, ht, 'DesktopSize');
      this.fbWidth = w;
      this.fbHeight = ht;
      this.framebuffer = Buffer.alloc(w * ht * 4);
      this.emit('resize', w, ht);
      return;
    }
    if (x + w > this.width || y + ht > this.height) {
      throw new RfbError(`rectangle ${w}x${ht}+${x}+${y} lies outside the ${this.width}x${this.height} framebuffer`);
    }
    if (encoding === Encoding.Raw) {
      const data = await this.reader.read(w * ht * 4);
      const fb = this.framebuffer;
      for (let row = 0; row < ht; row++) {
        const src = row * w * 4;
        const dst = ((y + row) * this.width + x) * 4;
        data.copy(fb, dst, src, src + w * 4);
        for (let i = dst + 3; i < dst + w * 4; i += 4) fb[i] = 255;
      }
    } else if (encoding === Encoding.CopyRect) {
      const src = await this.reader.read(4);
      const sx = src.readUInt16BE(0);
      const sy = src.readUInt16BE(2);
      if (sx + w > this.width || sy + ht > this.height)
        throw new RfbError(`CopyRect source ${w}x${ht}+${sx}+${sy} lies outside the framebuffer`);
      const copy = Buffer.alloc(w * ht * 4);
      for (let row = 0; row < ht; row++)
        this.framebuffer.copy(
          copy,
          row * w * 4,
          ((sy + row) * this.width + sx) * 4,
          ((sy + row) * this.width + sx + w) * 4,
        );
      for (let row = 0; row < ht; row++)
        copy.copy(this.framebuffer, ((y + row) * this.width + x) * 4, row * w * 4, (row + 1) * w * 4);
    } else {
      throw new RfbError(`server sent encoding ${encoding}, which was not requested`, 'unsupported');
    }
  }
}

/**
 * Waits until something at host:port speaks RFB; resolves with the banner ("RFB 003.008").
 * Retries refused or silent connections until timeoutMs has passed, GREETING_RETRY_MS apart: a refused connect costs
 * microseconds, and a console's start waits on this (the console image greets at once once it listens).
 */
const GREETING_RETRY_MS = 50;

export async function waitForRfbGreeting(host: string, port: number, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last: RfbError = new RfbError(`no RFB greeting from ${host}:${port}`, 'timeout');
  while (Date.now() < deadline) {
    try {
      return await readGreeting(host, port, Math.max(1, Math.min(3000, deadline - Date.now())));
    } catch (err) {
      last = asRfbError(err);
      if (last.code === 'protocol') throw last; // something answers, but it is not RFB: retrying will not help
      await new Promise((r) => setTimeout(r, Math.min(GREETING_RETRY_MS, Math.max(0, deadline - Date.now()))));
    }
  }
  throw new RfbError(`no RFB greeting from ${host}:${port} within ${timeoutMs} ms (last: ${last.message})`, 'timeout');
}

function readGreeting(host: string, port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new ByteReader();
    const socket = netConnect({ host, port });
    attachSocket(reader, socket);
    const timer = setTimeout(() => reader.fail(new RfbError('no greeting yet', 'timeout')), timeoutMs);
    reader
      .read(12)
      .then(
        (b) => {
          try {
            const text = b.toString('latin1');
            if (!/^RFB \d{3}\.\d{3}\n$/.test(text))
              throw new RfbError(`not an RFB server at ${host}:${port}: got ${JSON.stringify(text)}`);
            resolve(text.trimEnd());
          } catch (e) {
            reject(asRfbError(e));
          }
        },
        (e: unknown) => reject(asRfbError(e, 'closed')),
      )
      .finally(() => {
        clearTimeout(timer);
        socket.destroy();
      });
  });
}

/** Connects, fetches one full frame, disconnects. */
export async function captureFrame(opts: RfbConnectOptions): Promise<{ width: number; height: number; rgba: Buffer }> {
  const client = await RfbClient.connect(opts);
  try {
    await client.requestUpdate(false);
    return { width: client.width, height: client.height, rgba: Buffer.from(client.framebuffer) };
  } finally {
    client.close();
  }
}
