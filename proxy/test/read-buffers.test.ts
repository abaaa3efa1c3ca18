import { afterEach, describe, expect, it } from 'vitest';
import { ReadBufferPool } from '../src/read-buffers.js';

const pools: ReadBufferPool[] = [];
/** A small pool whose timer never fires during a test: trims are called by hand. */
function pool(keepFree: number, maxFree: number): ReadBufferPool {
  const p = new ReadBufferPool(1024, keepFree, maxFree, 3_600_000);
  pools.push(p);
  return p;
}

afterEach(() => {
  for (const p of pools.splice(0)) p.close();
});

describe('ReadBufferPool', () => {
  it('hands back the buffers it was given, up to maxFree', () => {
    const p = pool(2, 4);
    const taken = Array.from({ length: 6 }, () => p.take());
    for (const b of taken) p.give(b);
    expect(p.freeCount).toBe(4);
    expect(taken).toContain(p.take());
    p.give(Buffer.alloc(10)); // not one of its size: left to the garbage collector
    expect(p.freeCount).toBe(3);
  });

  it('keeps the buffers a burst keeps using, and drops those that sat unused through an interval', () => {
    const p = pool(2, 100);
    const burst = Array.from({ length: 10 }, () => p.take());
    for (const b of burst) p.give(b);
    p.trim(); // the interval of the burst: every buffer was in use at its low point
    expect(p.freeCount).toBe(10);
    // Busy interval: 8 of them taken and given back again.
    const again = Array.from({ length: 8 }, () => p.take());
    for (const b of again) p.give(b);
    p.trim(); // the two never taken in that interval go
    expect(p.freeCount).toBe(8);
    p.trim(); // a quiet interval: everything above keepFree goes
    expect(p.freeCount).toBe(2);
    p.trim();
    expect(p.freeCount).toBe(2);
  });
});
