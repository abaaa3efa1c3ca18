// The iDRAC fix-up on hand-made byte streams: RGB565 Raw rectangles become the viewer's pixel format, whatever the
// chunking; SetEncodings becomes Raw (+CopyRect, DesktopSize); SetPixelFormat stays here; 247 messages are dropped.
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { IDRAC_HEARTBEAT, IdracFixup } from '@bmc-console/common/direct/idrac-fixup';
import { encodePixelFormat, RGB565_PIXEL_FORMAT, RGBX_PIXEL_FORMAT } from '@bmc-console/common/rfb/messages';
import { encodeServerInit } from '@bmc-console/common/direct/viewer-handshake';

function harness() {
  const viewer: Buffer[] = [];
  const bmc: Buffer[] = [];
  const lines: string[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(s) });
  const f = new IdracFixup({
    toViewer: (b) => viewer.push(Buffer.from(b)),
    toBmc: (b) => bmc.push(Buffer.from(b)),
    log,
  });
  return { f, viewer: () => Buffer.concat(viewer), bmc: () => Buffer.concat(bmc), lines };
}

const rgb565 = (r: number, g: number, b: number) => ((r >> 3) << 11) | ((g >> 2) << 5) | (b >> 3);

function rectHead(x: number, y: number, w: number, h: number, enc: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(x, 0);
  b.writeUInt16BE(y, 2);
  b.writeUInt16BE(w, 4);
  b.writeUInt16BE(h, 6);
  b.writeInt32BE(enc, 8);
  return b;
}

function rawRect565(x: number, y: number, pixels: number[]): Buffer {
  const px = Buffer.alloc(pixels.length * 2);
  for (const [i, p] of pixels.entries()) px.writeUInt16LE(p, i * 2);
  return Buffer.concat([rectHead(x, y, pixels.length, 1, 0), px]);
}

/** Feeds `bytes` in chunks of `size` (1 = byte by byte). */
function feed(fn: (b: Buffer) => void, bytes: Buffer, size: number): void {
  for (let i = 0; i < bytes.length; i += size) fn(bytes.subarray(i, i + size));
}

const RED = rgb565(255, 0, 0);
const BLUE = rgb565(0, 0, 255);
const MARKER = rgb565(0, 80, 255); // idrac9's marker colour

// A server stream: 247 164, Bell, FramebufferUpdate (Raw 3 px, CopyRect, DesktopSize), cut text, colour map.
const serverStream = Buffer.concat([
  Buffer.from([247, 164]),
  Buffer.from([2]),
  Buffer.from([0, 0, 0, 3]),
  rawRect565(1, 2, [RED, BLUE, MARKER]),
  rectHead(0, 0, 4, 4, 1),
  Buffer.from([0, 5, 0, 6]),
  rectHead(0, 0, 800, 600, -223),
  Buffer.from([3, 0, 0, 0, 0, 0, 0, 2]),
  Buffer.from('hi'),
  Buffer.from([1, 0, 0, 0, 0, 1, 0, 1, 0, 2, 0, 3]),
  Buffer.from([247, 99]),
]);

function expectedViewerBytes(pixels: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from([2]),
    Buffer.from([0, 0, 0, 3]),
    rectHead(1, 2, 3, 1, 0),
    pixels,
    rectHead(0, 0, 4, 4, 1),
    Buffer.from([0, 5, 0, 6]),
    rectHead(0, 0, 800, 600, -223),
    Buffer.from([3, 0, 0, 0, 0, 0, 0, 2]),
    Buffer.from('hi'),
    Buffer.from([1, 0, 0, 0, 0, 1, 0, 1, 0, 2, 0, 3]),
  ]);
}

afterEach(() => vi.useRealTimers());

describe('IdracFixup toward the viewer', () => {
  it.each([1, 3, 7, 1000])('converts RGB565 Raw to the default RGBX format in chunks of %i, drops 247', (size) => {
    const h = harness();
    feed((b) => h.f.fromBmc(b), serverStream, size);
    const rgbx = Buffer.from([255, 0, 0, 0, 0, 0, 255, 0, 0, 81, 255, 0]);
    expect(h.viewer()).toEqual(expectedViewerBytes(rgbx));
    expect(h.lines.filter((l) => l.includes('another user holds the console'))).toHaveLength(1);
  });

  it('announces the format it delivers in ServerInit, keeping size and name', () => {
    const init = IdracFixup.viewerServerInit({
      width: 1024,
      height: 768,
      name: 'OpenVNC',
      pixelFormat: { ...RGBX_PIXEL_FORMAT, redShift: 16, blueShift: 0 },
    });
    const wire = encodeServerInit(init);
    expect(wire.readUInt16BE(0)).toBe(1024);
    expect(wire.subarray(4, 20)).toEqual(encodePixelFormat(RGBX_PIXEL_FORMAT));
    expect(wire.subarray(24).toString()).toBe('OpenVNC');
  });

  it("follows the viewer's SetPixelFormat from the next update: 16 bpp big-endian, 32 bpp BGRX", () => {
    const h = harness();
    const spf = (pf: typeof RGBX_PIXEL_FORMAT) => Buffer.concat([Buffer.from([0, 0, 0, 0]), encodePixelFormat(pf)]);
    const be565 = { ...RGB565_PIXEL_FORMAT, bigEndian: true };
    h.f.fromViewer(spf(be565));
    expect(h.bmc()).toEqual(Buffer.alloc(0)); // never reaches the BMC
    h.f.fromBmc(Buffer.concat([Buffer.from([0, 0, 0, 1]), rawRect565(0, 0, [RED, BLUE])]));
    const px = h.viewer().subarray(16);
    expect([...px]).toEqual([0xf8, 0x00, 0x00, 0x1f]);

    const h2 = harness();
    h2.f.fromViewer(spf({ ...RGBX_PIXEL_FORMAT, redShift: 16, blueShift: 0 }));
    h2.f.fromBmc(Buffer.concat([Buffer.from([0, 0, 0, 1]), rawRect565(0, 0, [RED])]));
    expect([...h2.viewer().subarray(16)]).toEqual([0, 0, 255, 0]);
  });

  it('refuses a colour-map pixel format and an encoding it did not ask for', () => {
    const h = harness();
    const cm = Buffer.concat([
      Buffer.from([0, 0, 0, 0]),
      encodePixelFormat({ ...RGBX_PIXEL_FORMAT, bitsPerPixel: 8, trueColour: false }),
    ]);
    expect(() => h.f.fromViewer(cm)).toThrow(/^rfb: viewer's SetPixelFormat: colour-map/);
    expect(() => h.f.fromBmc(Buffer.concat([Buffer.from([0, 0, 0, 1]), rectHead(0, 0, 1, 1, 16)]))).toThrow(
      /rfb: the BMC sent encoding 16/,
    );
  });
});

describe('IdracFixup toward the BMC', () => {
  it('rewrites SetEncodings to Raw plus CopyRect and DesktopSize, passes input and cut text, split anywhere', () => {
    const h = harness();
    const enc = Buffer.alloc(4 + 4 * 5);
    enc.writeUInt8(2, 0);
    enc.writeUInt16BE(5, 2);
    for (const [i, e] of [7, 16, 1, -239, -223].entries()) enc.writeInt32BE(e, 4 + 4 * i);
    const key = Buffer.from([4, 1, 0, 0, 0, 0, 0, 0x61]);
    const fbur = Buffer.from([3, 0, 0, 0, 0, 0, 4, 0, 3, 0]);
    const ptr = Buffer.from([5, 1, 0, 10, 0, 20]);
    const cut = Buffer.concat([Buffer.from([6, 0, 0, 0, 0, 0, 0, 3]), Buffer.from('abc')]);
    feed((b) => h.f.fromViewer(b), Buffer.concat([enc, key, fbur, ptr, cut]), 1);
    const want = Buffer.alloc(4 + 4 * 3);
    want.writeUInt8(2, 0);
    want.writeUInt16BE(3, 2);
    for (const [i, e] of [0, 1, -223].entries()) want.writeInt32BE(e, 4 + 4 * i);
    expect(h.bmc()).toEqual(Buffer.concat([want, key, fbur, ptr, cut]));
  });

  it('sends the heartbeat on its interval and refuses an unknown client message', () => {
    vi.useFakeTimers();
    const h = harness();
    h.f.startHeartbeat(20_000);
    vi.advanceTimersByTime(41_000);
    h.f.stopHeartbeat();
    expect(h.bmc()).toEqual(Buffer.concat([IDRAC_HEARTBEAT, IDRAC_HEARTBEAT]));
    expect(() => h.f.fromViewer(Buffer.from([250]))).toThrow('rfb: the viewer sent unknown message type 250');
  });
});
