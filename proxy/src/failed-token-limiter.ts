/**
 * Rate-limits failed token checks per source address (a token bucket): a source that keeps presenting bad tokens
 * is refused without asking the agent until its bucket refills.
 */
export class FailedTokenLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly refillPerMs: number;

  constructor(
    private readonly burst: number,
    perMinute: number,
    private readonly now: () => number = Date.now,
    /** Sources tracked at most; beyond it the fullest buckets are dropped first (they matter least). */
    private readonly maxSources = 10_000,
  ) {
    this.refillPerMs = perMinute / 60_000;
  }

  /** Whether `source` may have its token checked now. */
  allowed(source: string): boolean {
    return this.level(source) >= 1;
  }

  /** Counts one failed check of `source`. */
  failed(source: string): void {
    const tokens = Math.max(0, this.level(source) - 1);
    this.buckets.delete(source); // re-inserted last: Map order is then least recently failed first
    this.buckets.set(source, { tokens, at: this.now() });
    if (this.buckets.size > this.maxSources) this.prune();
  }

  private level(source: string): number {
    const b = this.buckets.get(source);
    if (!b) return this.burst;
    const tokens = Math.min(this.burst, b.tokens + (this.now() - b.at) * this.refillPerMs);
    if (tokens >= this.burst) this.buckets.delete(source);
    return tokens;
  }

  private prune(): void {
    for (const source of this.buckets.keys()) {
      if (this.buckets.size <= this.maxSources) return;
      this.buckets.delete(source);
    }
  }
}
