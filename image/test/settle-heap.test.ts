// settleHeapSoon: full collections through the in-process inspector, spaced after the KVM shows; a new call replaces
// the pending ones.
import { Session } from 'node:inspector';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { collectNow, settleHeapSoon } from 'bmc-console/supervisor/settle-heap';

describe('settleHeapSoon', () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('asks V8 for a full collection at 5, 20, 60 and 180 s, once each, and starts over when called again', () => {
    vi.useFakeTimers();
    // Counted, not run: the next test collects for real.
    const post = vi.spyOn(Session.prototype, 'post').mockImplementation(() => undefined);
    settleHeapSoon();
    vi.advanceTimersByTime(10_000);
    settleHeapSoon(); // the KVM opened again: the schedule restarts
    vi.advanceTimersByTime(200_000);
    const collections = post.mock.calls.filter((c) => (c[0] as string) === 'HeapProfiler.collectGarbage');
    expect(collections).toHaveLength(5);
  });

  it('really collects, and timers keep firing after it (they stopped when the session ended in the callback)', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const garbage: unknown[] = [];
    for (let i = 0; i < 20_000; i++) garbage.push({ i, s: `x${i}` });
    garbage.length = 0;
    const before = process.memoryUsage().heapUsed;
    await new Promise<void>((resolve) => collectNow(resolve));
    const after = process.memoryUsage().heapUsed;
    const at = ticks;
    await new Promise((r) => setTimeout(r, 100));
    clearInterval(timer);
    expect(ticks - at).toBeGreaterThan(3);
    expect(after).toBeLessThan(before);
  });
});
