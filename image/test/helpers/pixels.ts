/** Pixel checks on RFB frames: is the fake test console (or the status page) on screen? */
import { captureFrame } from '@bmc-console/common/rfb/client';
import { FAKE_CONSOLE_COLOURS } from 'bmc-console/status-page/status-page';

export interface Frame {
  width: number;
  height: number;
  rgba: Buffer;
}
export interface Rgb {
  r: number;
  g: number;
  b: number;
}

export function hexToRgb(hex: string): Rgb {
  const n = parseInt(hex.replace('#', ''), 16);
  return { r: (n >> 16) & 255, g: (n >> 8) & 255, b: n & 255 };
}

/** Share of pixels within `tolerance` (per channel) of a colour. */
export function colourShare(f: Frame, c: Rgb, tolerance = 24): number {
  let hits = 0;
  const n = f.width * f.height;
  for (let i = 0; i < n; i++) {
    const o = i * 4;
    if (
      Math.abs(f.rgba[o]! - c.r) <= tolerance &&
      Math.abs(f.rgba[o + 1]! - c.g) <= tolerance &&
      Math.abs(f.rgba[o + 2]! - c.b) <= tolerance
    )
      hits++;
  }
  return hits / n;
}

/** Mean x of the pixels of a colour (where the moving bar is), or -1. */
export function colourCentreX(f: Frame, c: Rgb, tolerance = 24): number {
  let sum = 0;
  let hits = 0;
  for (let i = 0; i < f.width * f.height; i++) {
    const o = i * 4;
    if (
      Math.abs(f.rgba[o]! - c.r) <= tolerance &&
      Math.abs(f.rgba[o + 1]! - c.g) <= tolerance &&
      Math.abs(f.rgba[o + 2]! - c.b) <= tolerance
    ) {
      sum += i % f.width;
      hits++;
    }
  }
  return hits ? sum / hits : -1;
}

/** The fake console is showing: mostly its background, with its bar and clock colours present. */
export function looksLikeFakeConsole(f: Frame): boolean {
  const c = FAKE_CONSOLE_COLOURS;
  return colourShare(f, c.background) > 0.6 && colourShare(f, c.bar) > 0.005 && colourShare(f, c.clock) > 0.002;
}

/** Polls frames over RFB until `pred` holds; returns the last frame. Connection errors count as "not yet". */
export async function waitForFrame(
  opts: { host?: string; port: number; password?: string },
  pred: (f: Frame) => boolean,
  timeoutMs = 120_000,
): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  let last: Frame | undefined;
  let lastErr = '';
  while (Date.now() < deadline) {
    try {
      last = await captureFrame({
        host: opts.host ?? '127.0.0.1',
        port: opts.port,
        timeoutMs: 5000,
        ...(opts.password ? { password: opts.password } : {}),
      });
      if (pred(last)) return last;
    } catch (err) {
      lastErr = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(
    `frame condition not met within ${timeoutMs} ms (last error: ${lastErr || 'none'}; last frame ${last ? `${last.width}x${last.height}` : 'none'})`,
  );
}
