import type { PixelFormat } from '../rfb/handshake.js';
import { RGBX_PIXEL_FORMAT } from '../rfb/messages.js';

/** What the iDRAC fix-up announces to the viewer: 32 bpp true colour, R at bits 0-7 (noVNC's own format). */
export const VIEWER_DEFAULT_FORMAT: PixelFormat = RGBX_PIXEL_FORMAT;

/** Converts RGB565 little-endian pixels (iDRAC's wire format) into one viewer pixel format via a 64 Ki table. */
export class Rgb565Converter {
  readonly bytesPerPixel: number;
  private readonly table = new Uint32Array(65536);

  constructor(private readonly pf: PixelFormat) {
    this.bytesPerPixel = pf.bitsPerPixel / 8;
    const scale = (v: number, from: number, to: number) => Math.round((v * to) / from);
    for (let v = 0; v < 65536; v++) {
      const r = scale((v >> 11) & 31, 31, pf.redMax);
      const g = scale((v >> 5) & 63, 63, pf.greenMax);
      const b = scale(v & 31, 31, pf.blueMax);
      this.table[v] = ((r << pf.redShift) | (g << pf.greenShift) | (b << pf.blueShift)) >>> 0;
    }
  }

  /** Converts every whole pixel of `src` (an even byte count). */
  convert(src: Buffer): Buffer {
    const n = src.length >> 1;
    const out = Buffer.alloc(n * this.bytesPerPixel);
    const t = this.table;
    const be = this.pf.bigEndian;
    for (let i = 0; i < n; i++) {
      const p = t[src.readUInt16LE(i * 2)] ?? 0;
      if (this.bytesPerPixel === 4) be ? out.writeUInt32BE(p, i * 4) : out.writeUInt32LE(p, i * 4);
      else if (this.bytesPerPixel === 2) be ? out.writeUInt16BE(p, i * 2) : out.writeUInt16LE(p, i * 2);
      else out[i] = p;
    }
    return out;
  }
}
