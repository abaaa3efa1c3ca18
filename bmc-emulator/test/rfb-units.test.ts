import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { encodePng } from '@bmc-console/common/rfb/png';
import { describe, expect, it } from 'vitest';
import { HostScreen } from '../src/rfb/host-screen.js';
import { keyName } from '../src/rfb/keys.js';
import { RGB565_PIXEL_FORMAT as RGB565_FORMAT } from '@bmc-console/common/rfb/messages';
import { changedRects, encodeRect } from '../src/rfb/pixels.js';

describe('RFB keysyms become the key names kvm.js reports', () => {
  it.each([
    [0x61, 'a'],
    [0x41, 'A'],
    [0x20, ' '],
    [0xe9, 'é'],
    [0x010020ac, '€'],
    [0xff0d, 'Enter'],
    [0xff8d, 'Enter'],
    [0xff08, 'Backspace'],
    [0xff09, 'Tab'],
    [0xff1b, 'Escape'],
    [0xff52, 'ArrowUp'],
    [0xffbe, 'F1'],
    [0xffc9, 'F12'],
    [0xffe1, 'Shift'],
    [0xffb7, '7'],
    [0x12345, 'Unidentified'],
  ])('keysym %s -> %s', (ks, name) => expect(keyName(ks)).toBe(name));
});

describe('pixel formats', () => {
  const src = Buffer.from([255, 0, 0, 0, 0, 255, 0, 0, 0, 0, 255, 0]); // red, green, blue
  it('encodes RGB565 little-endian (iDRAC) and big-endian 16 bpp', () => {
    expect([...encodeRect(src, 3, { x: 0, y: 0, w: 3, h: 1 }, RGB565_FORMAT)]).toEqual([0, 0xf8, 0xe0, 0x07, 0x1f, 0]);
    const be = { ...RGB565_FORMAT, bigEndian: true };
    expect([...encodeRect(src, 3, { x: 0, y: 0, w: 1, h: 1 }, be)]).toEqual([0xf8, 0]);
  });
  it('encodes 32 bpp with the client shifts', () => {
    const bgrx = {
      ...RGB565_FORMAT,
      bitsPerPixel: 32,
      depth: 24,
      redMax: 255,
      greenMax: 255,
      blueMax: 255,
      redShift: 16,
      greenShift: 8,
      blueShift: 0,
    };
    expect([...encodeRect(src, 3, { x: 0, y: 0, w: 1, h: 1 }, bgrx)]).toEqual([0, 0, 255, 0]);
  });
});

describe('host screen', () => {
  const model = { label: 'OpenBMC', node: 'ocrnode42', color: { r: 255, g: 0, b: 255 }, typed: 'echo hi', clicks: 0 };
  it('changes only the clock rectangle from one second to the next', () => {
    const s = new HostScreen();
    const t = Date.UTC(2026, 0, 1, 10, 0, 0);
    s.render({ ...model, now: t, last: null });
    const before = Buffer.from(s.pixels);
    expect(s.render({ ...model, now: t + 200, last: null })).toBe(false);
    expect(s.render({ ...model, now: t + 1000, last: null })).toBe(true);
    const rects = changedRects(s.pixels, before, s.width, { x: 0, y: 0, w: s.width, h: s.height });
    const area = rects.reduce((a, r) => a + r.w * r.h, 0);
    expect(area).toBeGreaterThan(0);
    expect(area).toBeLessThanOrEqual(64 * 64);
    for (const r of rects) expect(r.y).toBeGreaterThanOrEqual(160);
  });
  it('draws text tesseract reads', async () => {
    const s = new HostScreen();
    s.render({ ...model, now: Date.UTC(2026, 0, 1, 10, 0, 0), clicks: 2, last: { x: 12, y: 34 } });
    const rgba = Buffer.from(s.pixels);
    for (let i = 3; i < rgba.length; i += 4) rgba[i] = 255;
    const dir = mkdtempSync(join(tmpdir(), 'emu-screen-'));
    try {
      writeFileSync(join(dir, 's.png'), encodePng({ width: s.width, height: s.height, rgba }));
      const { stdout } = await promisify(execFile)('tesseract', [join(dir, 's.png'), 'stdout', '--psm', '11']);
      const text = stdout.replace(/\s+/g, ' ');
      for (const want of ['node: ocrnode42', 'ocrnode42 login', 'typed: echo hi']) expect(text).toContain(want);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
