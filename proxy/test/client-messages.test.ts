// The proxy's parser of the viewer->console RFB stream: whole messages to a gate, only passed ones forwarded.
import { describe, expect, it } from 'vitest';
import { ClientMessages, MAX_WHOLE_CUT_TEXT, type ClientMessage } from '@bmc-console/common/rfb/client-messages';

const fbur = Buffer.from([3, 1, 0, 0, 0, 0, 0, 10, 0, 10]);
const key = Buffer.from([4, 1, 0, 0, 0, 0, 0, 0x61]);
const pointer = Buffer.from([5, 1, 0, 5, 0, 5]);
const cut = Buffer.concat([Buffer.from([6, 0, 0, 0, 0, 0, 0, 3]), Buffer.from('abc')]);
const enc = Buffer.from([2, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1]);

/** A parser that drops input and remembers every message it was shown. */
function dropInput(): { p: ClientMessages; seen: ClientMessage[] } {
  const seen: ClientMessage[] = [];
  const p = new ClientMessages((m) => {
    seen.push({ ...m, bytes: Buffer.from(m.bytes) });
    return !m.input;
  });
  return { p, seen };
}

describe('ClientMessages', () => {
  it('shows every whole message to the gate and forwards only passed ones, across arbitrary chunk borders', () => {
    const { p, seen } = dropInput();
    const all = Buffer.concat([fbur, key, pointer, cut, enc, fbur]);
    const out: Buffer[] = [];
    for (let i = 0; i < all.length; i += 3) out.push(p.push(all.subarray(i, i + 3)));
    expect(Buffer.concat(out)).toEqual(Buffer.concat([fbur, enc, fbur]));
    expect(seen.map((m) => [m.type, m.input, m.whole])).toEqual([
      [3, false, true],
      [4, true, true],
      [5, true, true],
      [6, true, true],
      [2, false, true],
      [3, false, true],
    ]);
    expect(seen[3]?.bytes).toEqual(cut);
  });

  it('forwards adjacent passed messages as one slice of the input (no copy)', () => {
    const p = new ClientMessages(() => true);
    const all = Buffer.concat([fbur, key, pointer]);
    const out = p.push(all);
    expect(out).toEqual(all);
    expect(out.buffer).toBe(all.buffer);
  });

  it('skips a dropped ClientCutText of declared length 2^31 (extended form -2^31 too) without buffering it', () => {
    for (const declared of [0x7fffffff, -0x80000000]) {
      const { p, seen } = dropInput();
      const head = Buffer.alloc(8);
      head.writeUInt8(6, 0);
      head.writeInt32BE(declared, 4);
      expect(p.push(head)).toHaveLength(0);
      const heapBefore = process.memoryUsage().arrayBuffers;
      const chunk = Buffer.alloc(1024 * 1024, 0x41);
      for (let i = 0; i < 64; i++) expect(p.push(chunk)).toHaveLength(0); // 64 MiB of clipboard text, all skipped
      expect(process.memoryUsage().arrayBuffers - heapBefore).toBeLessThan(16 * 1024 * 1024);
      expect((p as unknown as { pending: Buffer }).pending.length).toBe(0);
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({ type: 6, whole: false });
    }
  });

  it('forwards a passed long ClientCutText in pieces as it arrives, then parses again', () => {
    const p = new ClientMessages(() => true);
    const len = MAX_WHOLE_CUT_TEXT + 10;
    const head = Buffer.from([6, 0, 0, 0, 0, 0, 0, 0]);
    head.writeInt32BE(len, 4);
    const text = Buffer.alloc(len, 0x42);
    const all = Buffer.concat([head, text, fbur]);
    const out: Buffer[] = [];
    for (let i = 0; i < all.length; i += 4096) {
      const piece = p.push(all.subarray(i, i + 4096));
      expect(piece.length).toBeLessThanOrEqual(4096); // nothing held back to be forwarded whole
      out.push(piece);
    }
    expect(Buffer.concat(out)).toEqual(all);
  });

  it('takes ExtendedMouseButtons (-316) out of SetEncodings, so pointer events stay 6 bytes at both ends', () => {
    const encodings = (list: number[]) => {
      const b = Buffer.alloc(4 + 4 * list.length);
      b.writeUInt8(2, 0);
      b.writeUInt16BE(list.length, 2);
      for (const [i, e] of list.entries()) b.writeInt32BE(e, 4 + 4 * i);
      return b;
    };
    const listOf = (b: Buffer) => Array.from({ length: b.readUInt16BE(2) }, (_, i) => b.readInt32BE(4 + 4 * i));
    const p = new ClientMessages(() => true);
    // noVNC's order: real encodings, then pseudo-encodings.
    expect(listOf(p.push(encodings([7, 1, 0, -223, -316, -308])))).toEqual([7, 1, 0, -223, 7, -308]);
    expect(listOf(p.push(encodings([-316, 5])))).toEqual([5, 5]);
    expect(listOf(p.push(encodings([-316])))).toEqual([0]);
    // What follows is parsed as 6-byte pointer events.
    expect(p.push(Buffer.concat([pointer, fbur]))).toEqual(Buffer.concat([pointer, fbur]));
  });

  it('refuses a message type it cannot size', () => {
    const p = new ClientMessages(() => true);
    expect(() => p.push(Buffer.from([77, 0, 0]))).toThrow(/unknown client message type 77/);
  });
});
