import { ClientMessage } from './constants.js';
import type { PixelFormat } from './handshake.js';

/** 32-bit true colour, little endian, R at bits 0-7: the bytes land in memory as R,G,B,X like RGBA. */
export const RGBX_PIXEL_FORMAT: PixelFormat = {
  bitsPerPixel: 32,
  depth: 24,
  bigEndian: false,
  trueColour: true,
  redMax: 255,
  greenMax: 255,
  blueMax: 255,
  redShift: 0,
  greenShift: 8,
  blueShift: 16,
};

export function clientInit(shared: boolean): Buffer {
  return Buffer.from([shared ? 1 : 0]);
}

/** RGB565 little-endian: what iDRAC9's KVM sends in every update whatever it announced (and what the emulator plays). */
export const RGB565_PIXEL_FORMAT: PixelFormat = {
  bitsPerPixel: 16,
  depth: 16,
  bigEndian: false,
  trueColour: true,
  redMax: 31,
  greenMax: 63,
  blueMax: 31,
  redShift: 11,
  greenShift: 5,
  blueShift: 0,
};

/**
 * Why pixels cannot be written in `pf`, or undefined when they can: true colour at 8, 16 or 32 bits per pixel,
 * each channel's max one less than a power of two and inside the pixel.
 */
export function unsupportedPixelFormat(pf: PixelFormat): string | undefined {
  if (!pf.trueColour) return 'colour-map pixel formats are not supported';
  if (![8, 16, 32].includes(pf.bitsPerPixel)) return `${pf.bitsPerPixel} bits per pixel is not supported`;
  for (const [max, shift] of [
    [pf.redMax, pf.redShift],
    [pf.greenMax, pf.greenShift],
    [pf.blueMax, pf.blueShift],
  ] as const) {
    if (max === 0 || (max & (max + 1)) !== 0 || max * 2 ** shift >= 2 ** pf.bitsPerPixel)
      return 'a colour channel does not fit the pixel';
  }
  return undefined;
}

/** The 16-byte PIXEL_FORMAT structure (ServerInit, SetPixelFormat). */
export function encodePixelFormat(pf: PixelFormat): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt8(pf.bitsPerPixel, 0);
  b.writeUInt8(pf.depth, 1);
  b.writeUInt8(pf.bigEndian ? 1 : 0, 2);
  b.writeUInt8(pf.trueColour ? 1 : 0, 3);
  b.writeUInt16BE(pf.redMax, 4);
  b.writeUInt16BE(pf.greenMax, 6);
  b.writeUInt16BE(pf.blueMax, 8);
  b.writeUInt8(pf.redShift, 10);
  b.writeUInt8(pf.greenShift, 11);
  b.writeUInt8(pf.blueShift, 12);
  return b;
}

export function setPixelFormat(pf: PixelFormat): Buffer {
  const b = Buffer.alloc(20);
  b.writeUInt8(ClientMessage.SetPixelFormat, 0);
  encodePixelFormat(pf).copy(b, 4);
  return b;
}

export function setEncodings(encodings: readonly number[]): Buffer {
  const b = Buffer.alloc(4 + 4 * encodings.length);
  b.writeUInt8(ClientMessage.SetEncodings, 0);
  b.writeUInt16BE(encodings.length, 2);
  for (const [i, e] of encodings.entries()) b.writeInt32BE(e, 4 + 4 * i);
  return b;
}

export function framebufferUpdateRequest(
  incremental: boolean,
  x: number,
  y: number,
  width: number,
  height: number,
): Buffer {
  const b = Buffer.alloc(10);
  b.writeUInt8(ClientMessage.FramebufferUpdateRequest, 0);
  b.writeUInt8(incremental ? 1 : 0, 1);
  b.writeUInt16BE(x, 2);
  b.writeUInt16BE(y, 4);
  b.writeUInt16BE(width, 6);
  b.writeUInt16BE(height, 8);
  return b;
}

export function keyEvent(keysym: number, down: boolean): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt8(ClientMessage.KeyEvent, 0);
  b.writeUInt8(down ? 1 : 0, 1);
  b.writeUInt32BE(keysym >>> 0, 4);
  return b;
}

export function pointerEvent(x: number, y: number, buttonMask: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUInt8(ClientMessage.PointerEvent, 0);
  b.writeUInt8(buttonMask & 0xff, 1);
  b.writeUInt16BE(Math.max(0, Math.min(0xffff, Math.round(x))), 2);
  b.writeUInt16BE(Math.max(0, Math.min(0xffff, Math.round(y))), 4);
  return b;
}
