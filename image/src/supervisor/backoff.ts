/**
 * Restart delays for a supervised child: exponential from `initialMs` up to `maxMs`, back to the start once
 * the child has stayed up for `resetAfterMs` (a crash an hour later is not part of the same crash loop).
 */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor: number;
  resetAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 250, maxMs: 10_000, factor: 2, resetAfterMs: 30_000 };

export class Backoff {
  private failures = 0;
  private startedAt: number | undefined;

  constructor(private readonly opts: BackoffOptions = DEFAULT_BACKOFF) {}

  /** Call when the child has started. */
  started(now: number): void {
    this.startedAt = now;
  }

  /** Call when the child died; returns how long to wait before starting it again. */
  nextDelay(now: number): number {
    if (this.startedAt !== undefined && now - this.startedAt >= this.opts.resetAfterMs) this.failures = 0;
    const delay = Math.min(this.opts.maxMs, this.opts.initialMs * this.opts.factor ** this.failures);
    this.failures += 1;
    this.startedAt = undefined;
    return delay;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }
}
