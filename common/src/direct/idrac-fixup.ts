import type { Logger } from '../log.js';
import { Encoding, Limits } from '../rfb/constants.js';
import type { PixelFormat, ServerInit } from '../rfb/handshake.js';
import { DirectKvmError } from './errors.js';
import { Rgb565Converter, VIEWER_DEFAULT_FORMAT } from './rgb565.js';
import { parsePixelFormat } from '../rfb/handshake.js';
import { setEncodings, unsupportedPixelFormat } from '../rfb/messages.js';

const IDRAC_VENDOR_MESSAGE = 247;
const SESSION_IS_SHARED = 164;
/** Client vendor messages: heartbeat (every 20 s, or the BMC drops the viewer) and window-close (before closing). */
export const IDRAC_HEARTBEAT = Buffer.from([247, 0, 0xf6]);
export const IDRAC_WINDOW_CLOSE = Buffer.from([247, 0, 0xf9]);
export const IDRAC_HEARTBEAT_MS = 20_000;

// Encodings that carry no pixel data of their own, so RGB565 conversion of Raw covers everything the BMC sends.
const PASSABLE_ENCODINGS = new Set<number>([Encoding.CopyRect, Encoding.DesktopSize]);

export interface IdracFixupIo {
  toViewer(b: Buffer): void;
  toBmc(b: Buffer): void;
  log: Logger;
}

type ServerState =
  | { s: 'type' }
  | { s: 'head'; kind: 'fbu' | 'rect' | 'colours' | 'cut' | 'vendor'; need: number }
  | { s: 'raw'; left: number }
  | { s: 'pass'; left: number; after: 'rect-done' | 'type' };

type ClientState = { s: 'msg'; need: number } | { s: 'pass'; left: number };

const fail = (detail: string) => new DirectKvmError('rfb', detail);

/**
 * iDRAC9's vconsole between the BMC socket and the viewer: its ServerInit announces 32 bpp but every update is RGB565
 * little-endian. Toward the viewer ServerInit announces what it will get; the viewer's SetEncodings become Raw
 * (+CopyRect, DesktopSize) so every pixel arrives Raw and is converted to the format the viewer set, whose
 * SetPixelFormat never reaches the BMC. Server vendor messages (247) are dropped, the heartbeat is sent. Both
 * directions are parsed incrementally: only headers (at most a few bytes) and one odd pixel byte are ever held back.
 */
export class IdracFixup {
  private server: ServerState = { s: 'type' };
  private serverHead: Buffer[] = [];
  private serverHeadLen = 0;
  private rectsLeft = 0;
  private oddByte: number | undefined;
  private client: ClientState = { s: 'msg', need: 1 };
  private clientBuf: Buffer = Buffer.alloc(0);
  /** The viewer's latest SetPixelFormat; it applies from the next FramebufferUpdate on. */
  private pendingFormat: PixelFormat = VIEWER_DEFAULT_FORMAT;
  private formatChanged = false;
  private converter = new Rgb565Converter(VIEWER_DEFAULT_FORMAT);
  private sharedLogged = false;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(private readonly io: IdracFixupIo) {}

  /** ServerInit as the viewer must see it: the BMC's size and name with the format the fix-up delivers. */
  static viewerServerInit(init: ServerInit): ServerInit {
    return { ...init, pixelFormat: VIEWER_DEFAULT_FORMAT };
  }

  startHeartbeat(intervalMs = IDRAC_HEARTBEAT_MS): void {
    this.stopHeartbeat();
    this.heartbeat = setInterval(() => this.io.toBmc(IDRAC_HEARTBEAT), intervalMs);
    this.heartbeat.unref();
  }

  stopHeartbeat(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  /** Bytes from the BMC (after ServerInit). Throws DirectKvmError('rfb') on a stream it cannot follow. */
  fromBmc(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      const st = this.server;
      if (st.s === 'type') {
        const type = chunk[off++] ?? 0;
        this.startServerMessage(type);
      } else if (st.s === 'head') {
        const take = Math.min(st.need - this.serverHeadLen, chunk.length - off);
        this.serverHead.push(chunk.subarray(off, off + take));
        this.serverHeadLen += take;
        off += take;
        if (this.serverHeadLen === st.need) {
          const head = Buffer.concat(this.serverHead, this.serverHeadLen);
          this.serverHead = [];
          this.serverHeadLen = 0;
          this.serverHeader(st.kind, head);
        }
      } else if (st.s === 'raw') {
        const take = Math.min(st.left, chunk.length - off);
        this.rawPixels(chunk.subarray(off, off + take));
        off += take;
        st.left -= take;
        if (st.left === 0) this.rectDone();
      } else {
        const take = Math.min(st.left, chunk.length - off);
        this.io.toViewer(chunk.subarray(off, off + take));
        off += take;
        st.left -= take;
        if (st.left === 0) {
          if (st.after === 'rect-done') this.rectDone();
          else this.server = { s: 'type' };
        }
      }
    }
  }

  private startServerMessage(type: number): void {
    switch (type) {
      case 0:
        this.server = { s: 'head', kind: 'fbu', need: 3 };
        break;
      case 1:
        this.server = { s: 'head', kind: 'colours', need: 5 };
        break;
      case 2:
        this.io.toViewer(Buffer.from([2]));
        break;
      case 3:
        this.server = { s: 'head', kind: 'cut', need: 7 };
        break;
      case IDRAC_VENDOR_MESSAGE:
        this.server = { s: 'head', kind: 'vendor', need: 1 };
        break;
      default:
        throw fail(`the BMC sent unknown message type ${type}`);
    }
  }

  private serverHeader(kind: 'fbu' | 'rect' | 'colours' | 'cut' | 'vendor', head: Buffer): void {
    switch (kind) {
      case 'fbu': {
        this.rectsLeft = head.readUInt16BE(1);
        // A new update: the viewer's latest pixel format applies from here.
        if (this.formatChanged) this.converter = new Rgb565Converter(this.pendingFormat);
        this.formatChanged = false;
        this.io.toViewer(Buffer.concat([Buffer.from([0]), head]));
        this.server = this.rectsLeft === 0 ? { s: 'type' } : { s: 'head', kind: 'rect', need: 12 };
        return;
      }
      case 'rect': {
        const w = head.readUInt16BE(4);
        const h = head.readUInt16BE(6);
        const enc = head.readInt32BE(8);
        this.io.toViewer(head);
        if (enc === Encoding.Raw) {
          const left = w * h * 2;
          this.oddByte = undefined;
          if (left === 0) this.rectDone();
          else this.server = { s: 'raw', left };
        } else if (enc === Encoding.CopyRect) this.server = { s: 'pass', left: 4, after: 'rect-done' };
        else if (enc === Encoding.DesktopSize) this.rectDone();
        else throw fail(`the BMC sent encoding ${enc}, though only Raw was asked for`);
        return;
      }
      case 'colours': {
        this.io.toViewer(Buffer.concat([Buffer.from([1]), head]));
        const left = head.readUInt16BE(3) * 6;
        this.server = left === 0 ? { s: 'type' } : { s: 'pass', left, after: 'type' };
        return;
      }
      case 'cut': {
        const len = head.readUInt32BE(3);
        if (len > Limits.maxCutText) throw fail(`the BMC sent cut text of ${len} bytes`);
        this.io.toViewer(Buffer.concat([Buffer.from([3]), head]));
        this.server = len === 0 ? { s: 'type' } : { s: 'pass', left: len, after: 'type' };
        return;
      }
      case 'vendor': {
        if (head[0] === SESSION_IS_SHARED && !this.sharedLogged) {
          this.sharedLogged = true;
          this.io.log.warn('idrac: another user holds the console (SESSION_IS_SHARED): no video until released');
        } else this.io.log.debug({ subtype: head[0] }, 'idrac: vendor message dropped');
        this.server = { s: 'type' };
        return;
      }
    }
  }

  private rawPixels(bytes: Buffer): void {
    let src = bytes;
    if (this.oddByte !== undefined) {
      src = Buffer.concat([Buffer.from([this.oddByte]), bytes]);
      this.oddByte = undefined;
    }
    if (src.length % 2 === 1) {
      this.oddByte = src[src.length - 1];
      src = src.subarray(0, src.length - 1);
    }
    if (src.length > 0) this.io.toViewer(this.converter.convert(src));
  }

  private rectDone(): void {
    this.rectsLeft--;
    this.server = this.rectsLeft > 0 ? { s: 'head', kind: 'rect', need: 12 } : { s: 'type' };
  }

  /** Bytes from the viewer (after ClientInit). Throws DirectKvmError('rfb') on a message it does not know. */
  fromViewer(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      const st = this.client;
      if (st.s === 'pass') {
        const take = Math.min(st.left, chunk.length - off);
        this.io.toBmc(chunk.subarray(off, off + take));
        off += take;
        st.left -= take;
        if (st.left === 0) this.client = { s: 'msg', need: 1 };
        continue;
      }
      const take = Math.min(st.need - this.clientBuf.length, chunk.length - off);
      this.clientBuf = Buffer.concat([this.clientBuf, chunk.subarray(off, off + take)]);
      off += take;
      if (this.clientBuf.length < st.need) continue;
      const need = this.clientMessageLength(this.clientBuf);
      if (need > this.clientBuf.length) {
        this.client = { s: 'msg', need };
        continue;
      }
      const m = this.clientBuf;
      this.clientBuf = Buffer.alloc(0);
      this.client = { s: 'msg', need: 1 };
      this.clientMessage(m);
    }
  }

  /** The length of the viewer's message as far as its first bytes tell (cut text: the header only). */
  private clientMessageLength(b: Buffer): number {
    const type = b[0] ?? 0;
    switch (type) {
      case 0:
        return 20;
      case 2:
        return b.length < 4 ? 4 : 4 + 4 * b.readUInt16BE(2);
      case 3:
        return 10;
      case 4:
        return 8;
      case 5:
        return 6;
      case 6:
        return 8;
      default:
        throw fail(`the viewer sent unknown message type ${type}`);
    }
  }

  private clientMessage(m: Buffer): void {
    switch (m[0]) {
      case 0: {
        const pf = parsePixelFormat(m.subarray(4, 20));
        const bad = unsupportedPixelFormat(pf);
        if (bad) throw fail(`viewer's SetPixelFormat: ${bad}`);
        this.pendingFormat = pf;
        this.formatChanged = true;
        return; // the BMC sends RGB565 whatever it is told; the conversion follows the viewer's format
      }
      case 2: {
        const asked: number[] = [];
        for (let i = 4; i < m.length; i += 4) asked.push(m.readInt32BE(i));
        this.io.toBmc(setEncodings([Encoding.Raw, ...asked.filter((e) => PASSABLE_ENCODINGS.has(e))]));
        return;
      }
      case 6: {
        this.io.toBmc(m);
        const len = m.readUInt32BE(4);
        if (len > Limits.maxCutText) throw fail(`the viewer sent cut text of ${len} bytes`);
        if (len > 0) this.client = { s: 'pass', left: len };
        return;
      }
      default:
        this.io.toBmc(m);
    }
  }
}
