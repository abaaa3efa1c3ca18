/**
 * Reusable read buffers for the console → browser direction.
 *
 * Left to itself, a node socket reads into a fresh 64 KiB buffer on every read. At a few hundred MiB/s the freed
 * buffers go back to the C heap, the heap shrinks, and the next buffers land on new pages: the kernel's page-fault
 * and zeroing work doubles the proxy's CPU per byte (~30,000 minor faults per 256 MiB relayed). Reading into
 * buffers that are handed back once the websocket has written them keeps the same few pages hot.
 *
 * 128 KiB rather than node's 64: half the reads, frames and JavaScript per byte for a busy console (one stream
 * ~1.1x faster in the benchmark). Each open session holds one buffer for its next read; a fresh one is only
 * address space until data comes (idle-session memory is in the benchmark too).
 *
 * One pool serves every session of a proxy. Many busy sessions at once each keep up to a high-water mark's worth
 * of buffers in flight, so the pool holds up to `maxFree` returned buffers: a smaller cap sent the surplus to the
 * garbage collector and back to fresh pages on every read (20 streams: a quarter more CPU per byte). So that a
 * burst does not pin memory afterwards, every `trimIntervalMs` the buffers that sat unused through the whole
 * interval are dropped, down to `keepFree`.
 */
export class ReadBufferPool {
  private readonly free: Buffer[] = [];
  /** The fewest free buffers since the last trim: that many were not needed during the interval. */
  private lowWater = 0;
  private readonly trimTimer: NodeJS.Timeout;

  constructor(
    readonly bufferBytes = 128 * 1024,
    private readonly keepFree = 64,
    private readonly maxFree = 1024,
    trimIntervalMs = 2000,
  ) {
    this.trimTimer = setInterval(() => this.trim(), trimIntervalMs).unref();
  }

  take(): Buffer {
    // allocUnsafe: a read only ever exposes the bytes it wrote (the callback gets their count).
    const b = this.free.pop() ?? Buffer.allocUnsafe(this.bufferBytes);
    if (this.free.length < this.lowWater) this.lowWater = this.free.length;
    return b;
  }

  give(b: Buffer): void {
    if (this.free.length < this.maxFree && b.length === this.bufferBytes) this.free.push(b);
  }

  /** Drops the buffers that sat unused since the last trim (the least recently used first), down to keepFree. */
  trim(): void {
    const drop = Math.min(this.lowWater, this.free.length - this.keepFree);
    if (drop > 0) this.free.splice(0, drop);
    this.lowWater = this.free.length;
  }

  /** Stops the trim timer (the proxy closes). */
  close(): void {
    clearInterval(this.trimTimer);
  }

  /** Buffers waiting for reuse (tests). */
  get freeCount(): number {
    return this.free.length;
  }
}
