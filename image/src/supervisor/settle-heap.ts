/**
 * Full garbage collections a while after the KVM shows. Once the console is settled the supervisor allocates little
 * (bench/notes/lab-notes.md), so V8 seldom collects, and the objects and code only the start used stay in its heap
 * for hours; a few full collections (through the in-process inspector: no V8 flag, so the image's compile cache still
 * matches) let V8 age them out and give the pages back.
 */
import { Session } from 'node:inspector';

/** Seconds after the KVM showed: bytecode flushing needs a few full collections spaced in time. */
const SETTLE_AFTER_S = [5, 20, 60, 180];

let pending: NodeJS.Timeout[] = [];

/** Schedules the collections (again: a new KVM start replaces the ones still pending). */
export function settleHeapSoon(): void {
  for (const t of pending) clearTimeout(t);
  pending = SETTLE_AFTER_S.map((s) => {
    const t = setTimeout(() => collectNow(), s * 1000);
    t.unref();
    return t;
  });
}

/**
 * One full collection; `done` once V8 has collected. The session ends on the next turn of the loop: ended inside
 * post's callback, it left Node 24's timers stopped for good (the viewer count's poll with them).
 */
export function collectNow(done?: () => void): void {
  const session = new Session();
  session.connect();
  session.post('HeapProfiler.collectGarbage', () => {
    setImmediate(() => session.disconnect());
    done?.();
  });
}
