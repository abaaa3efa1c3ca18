/**
 * Waiting that stops when the supervisor aborts (ctx.signal): every wait in a vendor script goes through here,
 * so a script never outlives its console.
 */
import type { Locator } from '../../src/cdp/locator.js';
import type { Page } from '../../src/cdp/page.js';

function abortError(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  if (r instanceof Error && r.name === 'AbortError') return r;
  const e = new Error('aborted');
  e.name = 'AbortError';
  return e;
}

/** Resolves with `work` unless `signal` aborts first (then rejects with an AbortError). */
export function abortable<T>(signal: AbortSignal, work: Promise<T>): Promise<T> {
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(abortError(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return abortable(signal, new Promise<void>((r) => setTimeout(r, ms)));
}

/** Waits until the locator is visible; false on timeout (callers decide whether that is a failure). */
export async function appears(locator: Locator, signal: AbortSignal, timeoutMs: number): Promise<boolean> {
  try {
    await abortable(signal, locator.first().waitFor({ state: 'visible', timeout: timeoutMs }));
    return true;
  } catch (e) {
    if (e instanceof Error && e.name === 'AbortError') throw e;
    return false;
  }
}

/**
 * Waits for the first of several outcomes, each a locator, and returns its key. Used where a page can end in
 * the KVM, a login form again, or an error text. Null on timeout.
 */
export async function firstOf<K extends string>(
  page: Page,
  outcomes: Record<K, string>,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<K | null> {
  const keys = Object.keys(outcomes) as K[];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const k of keys) {
      const visible = await page
        .locator(outcomes[k])
        .first()
        .isVisible()
        .catch(() => false);
      if (visible) return k;
    }
    if (Date.now() >= deadline) return null;
    await sleep(100, signal);
  }
}
