/**
 * Reusable read buffers for the console → browser direction.
 *
 * Left to itself, a node socket reads into a fresh 64 KiB buffer on every read. At a few hundred MiB/s the freed
 * buffers go back to the C heap, the heap shrinks, and the next buffers land on new pages: the kernel's page-fault
 * and zeroing work doubled the proxy's CPU per byte (measured: ~30,000 minor faults per 256 MiB). Reading into
 * buffers that are handed back once the websocket has written them keeps the same few pages hot.
 *
 * 128 KiB rather than node's 64: half the reads, frames and JavaScript per byte for a busy console (one stream
 * ~1.1x faster in the benchmark). Each open session holds one buffer for its next read; a fresh one is only
 * address space until data comes (idle-session memory is in the benchmark too).
 *
 * One pool serves every session of a proxy. It keeps at most `maxFree` buffers; beyond that, returned buffers are
 * left to the garbage collector, so a burst (many busy sessions) does not pin memory afterwards.
 */
export class ReadBufferPool {
  private readonly free: Buffer[] = [];

  constructor(
    readonly bufferBytes = 128 * 1024,
    private readonly maxFree = 64,
  ) {}

  take(): Buffer {
    // allocUnsafe: a read only ever exposes the bytes it wrote (the callback gets their count).
    return this.free.pop() ?? Buffer.allocUnsafe(this.bufferBytes);
  }

  give(b: Buffer): void {
    if (this.free.length < this.maxFree && b.length === this.bufferBytes) this.free.push(b);
  }

  /** Buffers waiting for reuse (tests). */
  get freeCount(): number {
    return this.free.length;
  }
}
