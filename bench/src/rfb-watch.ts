/**
 * The baseline for the keystroke and frame benchmarks: a VNC client straight at the console's x11vnc (no proxy, no
 * viewer page, Raw encoding), asking for the next incremental update as soon as one arrives, as noVNC does. It
 * reads the same regions of the KVM screen as the viewer probe (viewer-probe.ts).
 */
import { RfbClient } from '@bmc-console/common/rfb/client';
import { keysymForChar } from '@bmc-console/common/rfb/keysym';
import type { Geometry } from './viewer-probe.js';

const now = (): number => performance.timeOrigin + performance.now();

export class RfbWatch {
  private stopped = false;
  private geo: Geometry | undefined;
  private listeners: ((at: number) => void)[] = [];
  updates = 0;

  private constructor(private readonly client: RfbClient) {
    client.on('error', () => undefined);
    client.on('update', () => {
      this.updates++;
      const at = now();
      for (const l of this.listeners) l(at);
    });
    void this.pump();
  }

  static async connect(endpoint: { host: string; port: number }, password: string): Promise<RfbWatch> {
    return new RfbWatch(await RfbClient.connect({ ...endpoint, password, timeoutMs: 5000 }));
  }

  private async pump(): Promise<void> {
    let incremental = false;
    while (!this.stopped) {
      try {
        await this.client.requestUpdate(incremental);
        incremental = true;
      } catch {
        // no change within the client's timeout: ask again (a closed client ends the loop through `stopped`)
        if ((this.client as unknown as { closed?: boolean }).closed) return;
      }
    }
  }

  /** Waits until the framebuffer shows the KVM marker; the same geometry as the viewer probe's. */
  async locate(colour: { r: number; g: number; b: number }, timeoutMs: number): Promise<Geometry> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const geo = locateMarker(this.client.framebuffer, this.client.width, this.client.height, colour);
      if (geo) return (this.geo = geo);
      if (Date.now() > deadline) throw new Error(`x11vnc did not show the KVM marker within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Types `ch` and resolves with the send time and the first update whose typed line differs (or null). */
  async keyToGlyph(ch: string, timeoutMs: number): Promise<{ sentAt: number; glyphAt: number | null }> {
    const geo = this.geo!;
    const before = this.bandHash(geo);
    return new Promise((resolve) => {
      let sentAt = 0;
      const done = (glyphAt: number | null): void => {
        clearTimeout(timer);
        this.listeners = this.listeners.filter((l) => l !== onUpdate);
        resolve({ sentAt, glyphAt });
      };
      const onUpdate = (at: number): void => {
        if (this.bandHash(geo) !== before) done(at);
      };
      const timer = setTimeout(() => done(null), timeoutMs);
      this.listeners.push(onUpdate);
      const ks = keysymForChar(ch);
      sentAt = now();
      this.client.keyEvent(ks, true);
      this.client.keyEvent(ks, false);
    });
  }

  /** Counts distinct frame counter values over `ms`, like the viewer probe. */
  countFrames(ms: number): Promise<{ ms: number; distinct: number; advanced: number; torn: number; updates: number }> {
    const geo = this.geo!;
    const f = { first: undefined as number | undefined, last: 0, distinct: 0, advanced: 0, torn: 0 };
    const updates0 = this.updates;
    const t0 = now();
    const onUpdate = (): void => {
      const v = readCounter(this.client.framebuffer, this.client.width, geo);
      if (v === undefined) return void f.torn++;
      if (f.first === undefined) {
        f.first = v;
        f.last = v;
        return;
      }
      const step = (v - f.last) & 0xffff;
      if (step > 0 && step < 0x8000) {
        f.distinct++;
        f.advanced += step;
        f.last = v;
      }
    };
    this.listeners.push(onUpdate);
    return new Promise((resolve) =>
      setTimeout(() => {
        this.listeners = this.listeners.filter((l) => l !== onUpdate);
        resolve({
          ms: now() - t0,
          distinct: f.distinct,
          advanced: f.advanced,
          torn: f.torn,
          updates: this.updates - updates0,
        });
      }, ms),
    );
  }

  close(): void {
    this.stopped = true;
    this.client.close();
  }

  private bandHash(geo: Geometry): number {
    const fb = this.client.framebuffer;
    const w = this.client.width;
    let h = 0;
    for (let y = geo.band.y; y < geo.band.y + geo.band.h; y++) {
      for (let x = geo.band.x; x < geo.band.x + geo.band.w; x++) {
        const i = (y * w + x) * 4;
        h = (Math.imul(h, 31) + fb[i]! * 65536 + fb[i + 1]! * 256 + fb[i + 2]!) | 0;
      }
    }
    return h;
  }
}

/** The KVM canvas on a framebuffer, by its 64x64 marker square; undefined while it is not on screen. */
function locateMarker(
  fb: Buffer,
  width: number,
  height: number,
  c: { r: number; g: number; b: number },
): Geometry | undefined {
  let [x0, y0, x1, y1] = [width, height, -1, -1];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      if (Math.abs(fb[i]! - c.r) <= 24 && Math.abs(fb[i + 1]! - c.g) <= 24 && Math.abs(fb[i + 2]! - c.b) <= 24) {
        x0 = Math.min(x0, x);
        x1 = Math.max(x1, x);
        y0 = Math.min(y0, y);
        y1 = Math.max(y1, y);
      }
    }
  }
  if (x1 - x0 < 16 || Math.abs(x1 - x0 - (y1 - y0)) > 3) return undefined;
  const s = (x1 - x0 + 1) / 64;
  const at = (kx: number, ky: number, kw: number, kh: number) => ({
    x: Math.round(x0 + kx * s),
    y: Math.round(y0 + ky * s),
    w: Math.max(1, Math.round(kw * s)),
    h: Math.max(1, Math.round(kh * s)),
  });
  return { scale: s, band: at(40, 416, 960, 44), strip: at(0, 748, 1024, 1) };
}

function readCounter(fb: Buffer, width: number, geo: Geometry): number | undefined {
  let v = 0;
  for (let i = 0; i < 16; i++) {
    const x = geo.strip.x + Math.min(geo.strip.w - 1, Math.round(((i + 0.5) * geo.strip.w) / 16));
    const o = (geo.strip.y * width + x) * 4;
    const lum = (fb[o]! + fb[o + 1]! + fb[o + 2]!) / 3;
    if (lum > 160) v |= 1 << i;
    else if (lum >= 96) return undefined;
  }
  return v;
}
