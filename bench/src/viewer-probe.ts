/**
 * What the keystroke and frame benchmarks observe inside our viewer page, with the page's own clock
 * (performance.timeOrigin + now, the wall clock in ms that the emulator's key events use too):
 * - the keydown the viewer gets (capture phase, before noVNC sees it);
 * - every copy of noVNC's back buffer to the visible canvas (its flip), after which the watched regions are read:
 *   the KVM screen's "typed:" line (a keystroke's glyph) and the animation's frame counter strip;
 * - the bytes its websocket receives.
 * Event-driven (a hook on the canvas draw), so the page adds no polling of its own to what is measured.
 * The probe is plain JS in a string: a serialised TS function could carry the loader's helpers into the page.
 */
import type { Page } from 'playwright-core';

const PROBE = `(() => {
  const now = () => performance.timeOrigin + performance.now();
  const p = { bytes: 0, flips: 0, geo: null, armed: false, keyAt: null, glyphAt: null, armedHash: 0, onGlyph: null, frames: null };
  window.__probe = p;
  // A plain native socket with one more listener: noVNC checks the socket's prototype, so no subclass.
  const Native = window.WebSocket;
  const Counted = function (...args) {
    const ws = new Native(...args);
    ws.addEventListener('message', (e) => { p.bytes += e.data.byteLength || e.data.size || e.data.length || 0; });
    return ws;
  };
  Counted.prototype = Native.prototype;
  for (const k of ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED']) Counted[k] = Native[k];
  window.WebSocket = Counted;
  window.addEventListener('keydown', () => { if (p.armed && p.keyAt === null) p.keyAt = now(); }, true);
  let ctx = null;
  let scheduled = false;
  const drawImage = CanvasRenderingContext2D.prototype.drawImage;
  CanvasRenderingContext2D.prototype.drawImage = function (...args) {
    const r = drawImage.apply(this, args);
    if (this.canvas.isConnected && this.canvas.closest('#screen')) {
      ctx = this;
      if (!scheduled) { scheduled = true; queueMicrotask(check); }
    }
    return r;
  };
  const bandHash = () => {
    const b = p.geo.band;
    const d = ctx.getImageData(b.x, b.y, b.w, b.h).data;
    let h = 0;
    for (let i = 0; i < d.length; i += 4) h = (Math.imul(h, 31) + d[i] * 65536 + d[i + 1] * 256 + d[i + 2]) | 0;
    return h;
  };
  // The frame counter: 16 cells, white 1, black 0; undefined while a cell is neither (a picture caught mid-change).
  const counter = () => {
    const s = p.geo.strip;
    const d = ctx.getImageData(s.x, s.y, s.w, 1).data;
    let v = 0;
    for (let i = 0; i < 16; i++) {
      const x = Math.min(s.w - 1, Math.round((i + 0.5) * s.w / 16));
      const lum = (d[x * 4] + d[x * 4 + 1] + d[x * 4 + 2]) / 3;
      if (lum > 160) v |= 1 << i;
      else if (lum >= 96) return undefined;
    }
    return v;
  };
  function check() {
    scheduled = false;
    const t = now();
    p.flips++;
    if (!p.geo || !ctx) return;
    if (p.armed && p.keyAt !== null && p.glyphAt === null && bandHash() !== p.armedHash) {
      p.glyphAt = t;
      if (p.onGlyph) p.onGlyph();
    }
    const f = p.frames;
    if (f) {
      const v = counter();
      if (v === undefined) { f.torn++; return; }
      if (f.first === undefined) { f.first = v; f.last = v; return; }
      // A new frame is a later counter value (16 bits wrap); an earlier one can only be a torn read.
      const step = (v - f.last) & 0xffff;
      if (step > 0 && step < 0x8000) { f.distinct++; f.advanced += step; f.last = v; }
    }
  }
  // Finds the KVM canvas on the viewer's canvas by its marker square (64x64 at the KVM canvas' top-left).
  p.locate = (r, g, b) => {
    if (!ctx) return null;
    const w = ctx.canvas.width, h = ctx.canvas.height;
    const d = ctx.getImageData(0, 0, w, h).data;
    let x0 = w, y0 = h, x1 = -1, y1 = -1;
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 4;
      if (Math.abs(d[i] - r) <= 24 && Math.abs(d[i + 1] - g) <= 24 && Math.abs(d[i + 2] - b) <= 24) {
        if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y;
      }
    }
    if (x1 - x0 < 16 || Math.abs((x1 - x0) - (y1 - y0)) > 3) return null;
    const s = (x1 - x0 + 1) / 64;
    const at = (kx, ky, kw, kh) => ({ x: Math.round(x0 + kx * s), y: Math.round(y0 + ky * s), w: Math.max(1, Math.round(kw * s)), h: Math.max(1, Math.round(kh * s)) });
    // kvm.js: "typed: ..." at y 420 in 28px type (the clicks line starts at 470); the strip is y 728-768.
    p.geo = { scale: s, band: at(40, 416, 960, 44), strip: at(0, 748, 1024, 1) };
    return p.geo;
  };
  p.arm = () => {
    p.armed = true; p.keyAt = null; p.glyphAt = null; p.onGlyph = null;
    p.armedHash = bandHash();
  };
  p.waitGlyph = (timeoutMs) => new Promise((resolve) => {
    const done = () => { clearTimeout(timer); p.armed = false; resolve({ keyAt: p.keyAt, glyphAt: p.glyphAt }); };
    const timer = setTimeout(done, timeoutMs);
    if (p.glyphAt !== null) done(); else p.onGlyph = done;
  });
  p.countFrames = (ms) => new Promise((resolve) => {
    p.frames = { first: undefined, last: undefined, distinct: 0, advanced: 0, torn: 0 };
    const bytes0 = p.bytes, flips0 = p.flips, t0 = now();
    setTimeout(() => {
      const f = p.frames;
      p.frames = null;
      resolve({ ms: now() - t0, distinct: f.distinct, advanced: f.advanced, torn: f.torn, flips: p.flips - flips0, bytes: p.bytes - bytes0 });
    }, ms);
  });
  p.countBytes = (ms) => new Promise((resolve) => {
    const bytes0 = p.bytes, flips0 = p.flips, t0 = now();
    setTimeout(() => resolve({ ms: now() - t0, bytes: p.bytes - bytes0, flips: p.flips - flips0 }), ms);
  });
})();`;

export interface Geometry {
  scale: number;
  band: { x: number; y: number; w: number; h: number };
  strip: { x: number; y: number; w: number; h: number };
}

interface GlyphTiming {
  keyAt: number | null;
  glyphAt: number | null;
}

interface FrameCount {
  ms: number;
  /** Distinct counter values the canvas showed. */
  distinct: number;
  /** How far the counter advanced: the frames the KVM page drew in the window, as far as the viewer saw. */
  advanced: number;
  /** Reads of the strip caught between two frames (not counted). */
  torn: number;
  flips: number;
  bytes: number;
}

/** Installs the probe before the viewer's scripts run (every page load of `page`). */
export async function installProbe(page: Page): Promise<void> {
  await page.addInitScript(PROBE);
}

/** Waits until the viewer's canvas shows the KVM's marker and returns where the KVM canvas lies on it. */
export async function locateKvm(
  page: Page,
  colour: { r: number; g: number; b: number },
  timeoutMs: number,
): Promise<Geometry> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const geo = await page.evaluate(
      (c) =>
        (window as unknown as { __probe: { locate(r: number, g: number, b: number): Geometry | null } }).__probe.locate(
          c.r,
          c.g,
          c.b,
        ),
      colour,
    );
    if (geo) return geo;
    if (Date.now() > deadline) throw new Error(`the viewer did not show the KVM marker within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

type ProbeWindow = {
  __probe: {
    arm(): void;
    waitGlyph(ms: number): Promise<GlyphTiming>;
    countFrames(ms: number): Promise<FrameCount>;
    countBytes(ms: number): Promise<{ ms: number; bytes: number; flips: number }>;
  };
};

/** Remembers the typed line as it is; the next keydown starts the clock and the next change of that line stops it. */
export function armGlyph(page: Page): Promise<void> {
  return page.evaluate(() => (window as unknown as ProbeWindow).__probe.arm());
}

export function waitGlyph(page: Page, timeoutMs: number): Promise<GlyphTiming> {
  return page.evaluate((ms) => (window as unknown as ProbeWindow).__probe.waitGlyph(ms), timeoutMs);
}

export function countFrames(page: Page, ms: number): Promise<FrameCount> {
  return page.evaluate((t) => (window as unknown as ProbeWindow).__probe.countFrames(t), ms);
}

export function countBytes(page: Page, ms: number): Promise<{ ms: number; bytes: number; flips: number }> {
  return page.evaluate((t) => (window as unknown as ProbeWindow).__probe.countBytes(t), ms);
}
