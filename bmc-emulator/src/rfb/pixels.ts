import type { PixelFormat } from '@bmc-console/common/rfb/handshake';

/** What obmc-ikvm (libvncserver) announces: 32 bpp, depth 24, little-endian, true colour, red at bit 16. */
export const BGRX_FORMAT: PixelFormat = {
  bitsPerPixel: 32,
  depth: 24,
  bigEndian: false,
  trueColour: true,
  redMax: 255,
  greenMax: 255,
  blueMax: 255,
  redShift: 16,
  greenShift: 8,
  blueShift: 0,
};

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Encodes a rectangle of an R,G,B,X framebuffer (`stride` pixels a row) in the pixel format `pf`. */
export function encodeRect(src: Buffer, stride: number, r: Rect, pf: PixelFormat): Buffer {
  const bpp = pf.bitsPerPixel / 8;
  const out = Buffer.alloc(r.w * r.h * bpp);
  const rgbx =
    bpp === 4 && !pf.bigEndian && pf.redShift === 0 && pf.greenShift === 8 && pf.blueShift === 16 && pf.redMax === 255;
  let o = 0;
  for (let row = r.y; row < r.y + r.h; row++) {
    const start = (row * stride + r.x) * 4;
    if (rgbx) {
      // The framebuffer's own byte order: copy rows as they are.
      src.copy(out, o, start, start + r.w * 4);
      o += r.w * 4;
      continue;
    }
    for (let i = start; i < start + r.w * 4; i += 4) {
      const v =
        ((((src[i] as number) * pf.redMax + 127) / 255) << pf.redShift) |
        ((((src[i + 1] as number) * pf.greenMax + 127) / 255) << pf.greenShift) |
        ((((src[i + 2] as number) * pf.blueMax + 127) / 255) << pf.blueShift);
      if (bpp === 1) out.writeUInt8(v & 0xff, o);
      else if (bpp === 2) pf.bigEndian ? out.writeUInt16BE(v & 0xffff, o) : out.writeUInt16LE(v & 0xffff, o);
      else pf.bigEndian ? out.writeUInt32BE(v >>> 0, o) : out.writeUInt32LE(v >>> 0, o);
      o += bpp;
    }
  }
  return out;
}

const TILE = 32;

/**
 * Rectangles inside `region` where `now` differs from `shown` (both R,G,B,X, `stride` pixels a row): 32x32 tiles,
 * runs of dirty tiles in a tile row merged, so a ticking clock costs one or two small rectangles.
 */
export function changedRects(now: Buffer, shown: Buffer, stride: number, region: Rect): Rect[] {
  const rects: Rect[] = [];
  const x1 = region.x + region.w;
  const y1 = region.y + region.h;
  for (let ty = region.y; ty < y1; ty += TILE) {
    const th = Math.min(TILE, y1 - ty);
    let run: Rect | undefined;
    for (let tx = region.x; tx < x1; tx += TILE) {
      const tw = Math.min(TILE, x1 - tx);
      let dirty = false;
      for (let row = ty; row < ty + th && !dirty; row++) {
        const a = (row * stride + tx) * 4;
        dirty = now.compare(shown, a, a + tw * 4, a, a + tw * 4) !== 0;
      }
      if (dirty) {
        if (run) run.w += tw;
        else run = { x: tx, y: ty, w: tw, h: th };
      } else if (run) {
        rects.push(run);
        run = undefined;
      }
    }
    if (run) rects.push(run);
  }
  return rects;
}
