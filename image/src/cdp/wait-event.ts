/** Waiting for an event of the driver's emitters, with a deadline. */
import type { EventEmitter } from 'node:events';

/** A wait that ran out of time (the name is Playwright's, which the scripts test for). */
export class TimeoutError extends Error {
  override name = 'TimeoutError';
}

/**
 * The first `event` (whose argument passes `predicate`), or a TimeoutError after `timeout` ms; rejects at once when
 * the emitter emits `endsOn` (a page's 'close') first.
 */
export function waitForEvent<T = unknown>(
  emitter: EventEmitter,
  event: string,
  o: { timeout: number; predicate?: (arg: T) => boolean; what: string; endsOn?: string },
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const finish = (): void => {
      clearTimeout(timer);
      emitter.off(event, listener);
      if (o.endsOn) emitter.off(o.endsOn, ended);
    };
    const timer = setTimeout(() => {
      finish();
      reject(new TimeoutError(`timeout ${o.timeout} ms exceeded waiting for ${o.what}`));
    }, o.timeout);
    const listener = (arg: T): void => {
      if (o.predicate && !o.predicate(arg)) return;
      finish();
      resolve(arg);
    };
    const ended = (): void => {
      finish();
      reject(new Error(`the target closed while waiting for ${o.what}`));
    };
    emitter.on(event, listener);
    if (o.endsOn) emitter.once(o.endsOn, ended);
  });
}
