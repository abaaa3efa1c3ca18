/**
 * Whether the BMC's KVM should be open: from the first VNC viewer until `releaseAfterMs` after the last one
 * left (or always). BMCs have few KVM slots and some keep abandoned sessions, so nobody watching = no slot held.
 */
export class KvmDemand {
  private viewers = 0;
  private wantedNow: boolean;
  private releaseTimer: NodeJS.Timeout | undefined;
  private release = new AbortController();
  private waiters: (() => void)[] = [];

  constructor(
    private readonly releaseAfterMs: number | 'always',
    private readonly onChange: (wanted: boolean, viewers: number) => void = () => undefined,
  ) {
    this.wantedNow = releaseAfterMs === 'always';
  }

  get wanted(): boolean {
    return this.wantedNow;
  }

  /** Resolves when the KVM should be open (at once if it should now), or when `signal` aborts. */
  whenWanted(signal: AbortSignal): Promise<void> {
    if (this.wantedNow || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        signal.removeEventListener('abort', done);
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve();
      };
      this.waiters.push(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** Aborts when the KVM that is open now should be closed (the grace after the last viewer ran out). */
  releaseSignal(): AbortSignal {
    return this.release.signal;
  }

  setViewers(n: number): void {
    this.viewers = n;
    if (this.releaseAfterMs === 'always') return;
    if (n > 0) {
      clearTimeout(this.releaseTimer);
      this.releaseTimer = undefined;
      if (!this.wantedNow) this.set(true);
    } else if (this.wantedNow && !this.releaseTimer) {
      const ms = this.releaseAfterMs;
      if (ms === 0) this.set(false);
      else
        this.releaseTimer = setTimeout(() => {
          this.releaseTimer = undefined;
          if (this.viewers === 0) this.set(false);
        }, ms);
    }
  }

  dispose(): void {
    clearTimeout(this.releaseTimer);
  }

  private set(wanted: boolean): void {
    this.wantedNow = wanted;
    if (wanted) {
      this.release = new AbortController();
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    } else this.release.abort();
    this.onChange(wanted, this.viewers);
  }
}
