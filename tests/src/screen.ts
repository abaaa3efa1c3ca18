/** Reading what a person would see: colour blocks in a frame and text by OCR (Debian's tesseract). */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PNG } from 'pngjs';

export interface Rgba {
  width: number;
  height: number;
  rgba: Buffer;
}
export interface Colour {
  r: number;
  g: number;
  b: number;
}

export function decodePng(png: Buffer): Rgba {
  const img = PNG.sync.read(png);
  return { width: img.width, height: img.height, rgba: img.data };
}

/**
 * Where a solid square of `colour` at least `size` pixels wide stands in the frame, or null. Compares within a
 * tolerance, since scaling in the viewer blends edges and JPEG-free paths still round.
 */
export function findColourBlock(
  frame: Rgba,
  colour: Colour,
  size = 16,
  tolerance = 24,
): { x: number; y: number } | null {
  const { width, height, rgba } = frame;
  const near = (x: number, y: number) => {
    const i = (y * width + x) * 4;
    return (
      Math.abs(rgba[i]! - colour.r) <= tolerance &&
      Math.abs(rgba[i + 1]! - colour.g) <= tolerance &&
      Math.abs(rgba[i + 2]! - colour.b) <= tolerance
    );
  };
  const step = Math.max(2, Math.floor(size / 2));
  for (let y = 0; y + size <= height; y += step)
    for (let x = 0; x + size <= width; x += step) {
      if (!near(x, y)) continue;
      let ok = true;
      for (let dy = 0; dy < size && ok; dy += 2) for (let dx = 0; dx < size && ok; dx += 2) ok = near(x + dx, y + dy);
      if (ok) return { x, y };
    }
  return null;
}

/** Text in a PNG, by tesseract; lower-cased with white space folded. */
export async function ocr(png: Buffer): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'bmc-ocr-'));
  try {
    const file = join(dir, 'screen.png');
    writeFileSync(file, png);
    const { stdout } = await promisify(execFile)('tesseract', [file, 'stdout', '--psm', '11'], { maxBuffer: 4 << 20 });
    return stdout.toLowerCase().replace(/\s+/g, ' ');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Whether `text` holds `needle` with at most `maxEdits` character edits: OCR confuses 0/o and 1/l/i now and then,
 * and a check that fails on such a confusion tests tesseract, not the console.
 */
export function containsApprox(text: string, needle: string, maxEdits = 2): boolean {
  const n = needle.toLowerCase();
  if (text.includes(n)) return true;
  // Semi-global edit distance: the needle may start anywhere in the text.
  let prev = new Array<number>(text.length + 1).fill(0);
  for (let i = 1; i <= n.length; i++) {
    const cur = [i];
    for (let j = 1; j <= text.length; j++)
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (n[i - 1] === text[j - 1] ? 0 : 1));
    prev = cur;
  }
  return Math.min(...prev) <= maxEdits;
}
