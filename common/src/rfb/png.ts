import { PNG } from 'pngjs';

/** PNG bytes of an RGBA frame (screenshots for tests, the demo and readiness evidence). */
export function encodePng(frame: { width: number; height: number; rgba: Buffer }): Buffer {
  if (frame.rgba.length !== frame.width * frame.height * 4) {
    throw new Error(
      `encodePng: rgba must be width*height*4 = ${frame.width * frame.height * 4} bytes, got ${frame.rgba.length}`,
    );
  }
  const png = new PNG({ width: frame.width, height: frame.height });
  frame.rgba.copy(png.data);
  return PNG.sync.write(png);
}
