import type { Logger } from '@bmc-console/common/log';
import { parsePixelFormat, type PixelFormat } from '@bmc-console/common/rfb/handshake';
import { encodePixelFormat, RGB565_PIXEL_FORMAT, unsupportedPixelFormat } from '@bmc-console/common/rfb/messages';
import type { WebSocket } from 'ws';
import { HostScreen, type HostScreenModel } from './host-screen.js';
import { keyName } from './keys.js';
import { BGRX_FORMAT, changedRects, encodeRect, type Rect } from './pixels.js';

/** How one vendor's BMC speaks RFB over its KVM websocket. */
export interface RfbDialect {
  /** ServerInit desktop name. */
  name: string;
  /** Binary preamble before the RFB version: the server sends `challenge`, the client's answer must pass `check`. */
  preamble?: { challenge: number[]; check: (answer: Buffer) => boolean };
  /** Pixel format ServerInit announces (default: 32 bpp BGRX, as obmc-ikvm). */
  announced?: PixelFormat;
  /** Every FramebufferUpdate uses this format whatever the client set (iDRAC9: RGB565). */
  forcedFormat?: PixelFormat;
  /** Client message type of vendor messages to accept and ignore (iDRAC: 247, 3 bytes long). */
  vendorMessageType?: number;
  /** Sent right after ServerInit to a viewer admitted without video (iDRAC: 247 164 SESSION_IS_SHARED). */
  sharedNotice?: number[];
  /** Close the session when no client message arrived for this long (iDRAC heartbeat). */
  idleTimeoutMs?: number;
}

/** What the session needs from the emulated BMC and host. */
export interface RfbHost {
  log: Logger;
  model(): HostScreenModel;
  /** Admits a viewer once it speaks RFB 3.8: video, shared without video, or refused with a reason. */
  admit(): { status: 'ok' | 'shared' } | { status: 'busy'; reason: string };
  key(name: string): void;
  click(x: number, y: number): void;
  /** An update carrying the screen's answer to an input was sent. */
  drawn(): void;
  /** The socket closed (after admit: the viewer leaves). */
  closed(): void;
}

export const IDRAC_DIALECT_BASE: Omit<RfbDialect, 'preamble'> = {
  name: 'OpenVNC',
  announced: BGRX_FORMAT,
  forcedFormat: RGB565_PIXEL_FORMAT,
  vendorMessageType: 247,
  sharedNotice: [247, 164],
  idleTimeoutMs: 60_000,
};

const VERSION = 'RFB 003.008\n';
const MAX_CUT_TEXT = 1 << 20;
/** How often a waiting incremental request looks for changes (the clock ticks each second). */
const TICK_MS = 200;

type Phase = 'preamble' | 'version' | 'security' | 'init' | 'normal' | 'closed';

/** One RFB 3.8 server session over a websocket (security None, Raw encoding), as one state machine. */
export class RfbServerSession {
  private phase: Phase;
  private inbuf: Buffer = Buffer.alloc(0);
  private video = false;
  private admitted = false;
  private format: PixelFormat;
  private readonly screen = new HostScreen();
  private shown: Buffer | undefined;
  private pending: { incremental: boolean; rect: Rect } | undefined;
  /** Screen version already diffed for the waiting incremental request (skips re-diffing an unchanged screen). */
  private checked = -1;
  private buttons = 0;
  private inputSinceUpdate = false;
  private readonly ticker: NodeJS.Timeout;
  private idle: NodeJS.Timeout | undefined;

  constructor(
    private readonly ws: WebSocket,
    private readonly dialect: RfbDialect,
    private readonly host: RfbHost,
  ) {
    this.format = dialect.announced ?? BGRX_FORMAT;
    this.phase = dialect.preamble ? 'preamble' : 'version';
    this.ticker = setInterval(() => this.flush(), TICK_MS);
    this.touch();
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
      this.touch();
      const chunk = Buffer.isBuffer(data)
        ? data
        : Array.isArray(data)
          ? Buffer.concat(data)
          : Buffer.from(data as ArrayBuffer);
      this.inbuf = this.inbuf.length ? Buffer.concat([this.inbuf, chunk]) : chunk;
      this.consume();
    });
    ws.on('close', () => this.finish());
    ws.on('error', (e) => host.log.debug({ err: e.message }, 'rfb: websocket error'));
    if (dialect.preamble) this.send(Buffer.from(dialect.preamble.challenge));
    else this.send(Buffer.from(VERSION, 'latin1'));
  }

  private send(b: Buffer): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(b);
  }

  private close(code: number, reason: string): void {
    this.host.log.info({ reason }, 'rfb: closing console session');
    this.finish();
    this.ws.close(code, reason);
  }

  private finish(): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    clearInterval(this.ticker);
    clearTimeout(this.idle);
    if (this.admitted) this.host.closed();
  }

  /** Restarts the idle clock: any client message counts (iDRAC's heartbeat is one). */
  private touch(): void {
    const ms = this.dialect.idleTimeoutMs;
    if (ms === undefined || this.phase === 'closed') return;
    clearTimeout(this.idle);
    this.idle = setTimeout(() => this.close(4000, 'no heartbeat from the viewer'), ms);
  }

  /** Takes n bytes off the input, or undefined when fewer have arrived. */
  private take(n: number): Buffer | undefined {
    if (this.inbuf.length < n) return undefined;
    const b = this.inbuf.subarray(0, n);
    this.inbuf = this.inbuf.subarray(n);
    return b;
  }

  private consume(): void {
    while (this.phase !== 'closed' && this.step()) {
      // each step handled one complete message
    }
  }

  /** Handles one complete client message of the current phase; false when more bytes are needed. */
  private step(): boolean {
    switch (this.phase) {
      case 'preamble': {
        const a = this.take(34);
        if (!a) return false;
        if (!this.dialect.preamble?.check(a)) {
          this.close(4003, 'console handshake failed');
          return false;
        }
        this.phase = 'version';
        this.send(Buffer.from(VERSION, 'latin1'));
        return true;
      }
      case 'version': {
        const v = this.take(12);
        if (!v) return false;
        this.onVersion(v.toString('latin1'));
        return true;
      }
      case 'security': {
        const t = this.take(1);
        if (!t) return false;
        if (t[0] !== 1) {
          this.send(Buffer.concat([u32(1), reason('security type not offered (only None)')]));
          this.close(1002, 'security type not offered');
          return false;
        }
        this.send(u32(0));
        this.phase = 'init';
        return true;
      }
      case 'init': {
        if (!this.take(1)) return false; // shared flag: every viewer is shared here
        this.serverInit();
        return true;
      }
      case 'normal':
        return this.message();
      default:
        return false;
    }
  }

  private onVersion(v: string): void {
    if (v === 'RFB 003.003\n' || v === 'RFB 003.007\n') {
      // 3.3 has no type list: a zero u32 security type then the reason; 3.7 a zero-length list then the reason.
      const why = reason('this server speaks RFB 003.008 only');
      this.send(Buffer.concat([v === 'RFB 003.003\n' ? u32(0) : Buffer.from([0]), why]));
      this.close(1002, 'unsupported RFB version');
      return;
    }
    if (v !== VERSION) {
      this.close(1002, 'not an RFB 003.008 client');
      return;
    }
    const a = this.host.admit();
    if (a.status === 'busy') {
      this.send(Buffer.concat([Buffer.from([0]), reason(a.reason)]));
      this.close(4001, 'busy');
      return;
    }
    this.admitted = true;
    this.video = a.status === 'ok';
    this.send(Buffer.from([1, 1]));
    this.phase = 'security';
  }

  private serverInit(): void {
    const name = Buffer.from(this.dialect.name, 'utf8');
    const head = Buffer.alloc(4);
    head.writeUInt16BE(this.screen.width, 0);
    head.writeUInt16BE(this.screen.height, 2);
    this.send(Buffer.concat([head, encodePixelFormat(this.format), u32(name.length), name]));
    if (!this.video && this.dialect.sharedNotice) this.send(Buffer.from(this.dialect.sharedNotice));
    this.phase = 'normal';
  }

  private message(): boolean {
    const type = this.inbuf[0];
    if (type === undefined) return false;
    switch (type) {
      case 0: {
        const m = this.take(20);
        if (!m) return false;
        if (this.dialect.forcedFormat) return true; // iDRAC: ignored, updates stay in its own format
        const pf = parsePixelFormat(m.subarray(4));
        const bad = unsupportedPixelFormat(pf);
        if (bad) {
          this.close(1003, `SetPixelFormat: ${bad}`);
          return false;
        }
        this.format = pf;
        this.shown = undefined; // what the client holds is in the old format: next update sends everything
        return true;
      }
      case 2: {
        if (this.inbuf.length < 4) return false;
        const n = this.inbuf.readUInt16BE(2);
        return this.take(4 + 4 * n) !== undefined; // Raw is always allowed; nothing else is sent
      }
      case 3: {
        const m = this.take(10);
        if (!m) return false;
        const x = Math.min(m.readUInt16BE(2), this.screen.width);
        const y = Math.min(m.readUInt16BE(4), this.screen.height);
        const rect = {
          x,
          y,
          w: Math.min(m.readUInt16BE(6), this.screen.width - x),
          h: Math.min(m.readUInt16BE(8), this.screen.height - y),
        };
        this.pending = { incremental: m[1] !== 0, rect };
        this.checked = -1;
        this.flush();
        return true;
      }
      case 4: {
        const m = this.take(8);
        if (!m) return false;
        if (m[1] !== 0 && this.video) {
          this.host.key(keyName(m.readUInt32BE(4)));
          this.inputSinceUpdate = true;
          this.flush();
        }
        return true;
      }
      case 5: {
        const m = this.take(6);
        if (!m) return false;
        const mask = m.readUInt8(1);
        if (mask & 1 && !(this.buttons & 1) && this.video) {
          this.host.click(m.readUInt16BE(2), m.readUInt16BE(4));
          this.inputSinceUpdate = true;
          this.flush();
        }
        this.buttons = mask;
        return true;
      }
      case 6: {
        if (this.inbuf.length < 8) return false;
        const len = this.inbuf.readUInt32BE(4);
        if (len > MAX_CUT_TEXT) {
          this.close(1009, 'ClientCutText: text too long');
          return false;
        }
        return this.take(8 + len) !== undefined; // ignored: the host has no clipboard
      }
      default:
        if (type === this.dialect.vendorMessageType) return this.take(3) !== undefined; // heartbeat, window-close
        this.close(1002, `unknown RFB client message type ${type}`);
        return false;
    }
  }

  /** Answers the waiting update request: the whole rectangle, or (incremental) what changed since the last update. */
  private flush(): void {
    const p = this.pending;
    if (!p || !this.video || this.phase !== 'normal') return;
    this.screen.render(this.host.model());
    const w = this.screen.width;
    const shown = this.shown;
    if (p.incremental && shown && this.checked === this.screen.version) return;
    const rects = p.incremental && shown ? changedRects(this.screen.pixels, shown, w, p.rect) : [p.rect];
    this.checked = this.screen.version;
    if (rects.length === 0) return; // incremental: hold the request until something changes
    this.pending = undefined;
    const pf = this.dialect.forcedFormat ?? this.format;
    const parts: Buffer[] = [Buffer.from([0, 0, rects.length >> 8, rects.length & 0xff])];
    this.shown ??= Buffer.alloc(this.screen.pixels.length);
    for (const r of rects) {
      const h = Buffer.alloc(12);
      h.writeUInt16BE(r.x, 0);
      h.writeUInt16BE(r.y, 2);
      h.writeUInt16BE(r.w, 4);
      h.writeUInt16BE(r.h, 6);
      h.writeInt32BE(0, 8); // Raw
      parts.push(h, encodeRect(this.screen.pixels, w, r, pf));
      for (let row = r.y; row < r.y + r.h; row++) {
        const a = (row * w + r.x) * 4;
        this.screen.pixels.copy(this.shown, a, a, a + r.w * 4);
      }
    }
    this.send(Buffer.concat(parts));
    if (this.inputSinceUpdate) {
      this.inputSinceUpdate = false;
      this.host.drawn();
    }
  }
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

/** A failure reason as RFB sends it: u32 length then the text. */
function reason(text: string): Buffer {
  const t = Buffer.from(text, 'utf8');
  return Buffer.concat([u32(t.length), t]);
}
