import type { Writable } from 'node:stream';

/**
 * Sends a burst of console reads to the browser in one write.
 *
 * libuv reads a busy console socket up to 32 times per poll, one read buffer at a time, and each read becomes
 * one websocket frame. Written one by one, every frame is a syscall on the browser's socket and a wake-up of the
 * reader. Corked while reads come back full, the frames of one poll go out in one writev. The cork ends as soon
 * as a read comes back short (the console's socket is drained) or, at the latest, after this turn of the event
 * loop, so an interactive update (one short read) is never held back. Measured: one stream ~1.25x faster, with
 * less CPU per byte (docs/benchmarks.md, what shaped the code).
 */
export class BurstWrites {
  private corked = false;

  constructor(private readonly socket: Writable) {}

  /** Before a chunk read from the console is written; `full` = the read filled its buffer, so more is waiting. */
  beforeWrite(full: boolean): void {
    if (!full || this.corked) return;
    this.corked = true;
    this.socket.cork();
    setImmediate(this.release);
  }

  /** After it was written: a short read means the burst is over. */
  afterWrite(full: boolean): void {
    if (!full) this.release();
  }

  private readonly release = (): void => {
    if (!this.corked) return;
    this.corked = false;
    this.socket.uncork();
  };
}
