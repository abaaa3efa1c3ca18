// settleHeapSoon: full collections through the in-process inspector, spaced after the KVM shows; a new call replaces
// the pending ones.
import { Session } from 'node:inspector';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { settleHeapSoon } from 'bmc-console/supervisor/settle-heap';

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

  it('really collects: the inspector answers without an error', async () => {
    const session = new Session();
    session.connect();
    await new Promise<void>((resolve, reject) =>
      session.post('HeapProfiler.collectGarbage', (err) => (err ? reject(err) : resolve())),
    );
    session.disconnect();
  });
});
