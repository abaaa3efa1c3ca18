import type { Socket } from 'node:net';
import { RfbError } from './errors.js';

/**
 * Buffers bytes from any source (a TCP socket, a websocket) and hands them out in exact sizes.
 * A failure (close, error, timeout) rejects the pending read and every later one, so parsers written
 * as straight-line async code never hang and never throw outside their promise.
 */
export class ByteReader {
  private chunks: Buffer[] = [];
  private length = 0;
  private waiter: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;

  get buffered(): number {
    return this.length;
  }

  get failed(): Error | undefined {
    return this.failure;
  }

  push(chunk: Buffer): void {
    if (this.failure || chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
    this.wake();
  }

  fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(err);
  }

  read(n: number): Promise<Buffer> {
    if (this.failure && this.length < n) return Promise.reject(this.failure);
    if (this.waiter) return Promise.reject(new RfbError('ByteReader: concurrent reads are not supported'));
    if (this.length >= n) return Promise.resolve(this.take(n));
    return new Promise((resolve, reject) => {
      this.waiter = { n, resolve, reject };
    });
  }

  async u8(): Promise<number> {
    return (await this.read(1)).readUInt8(0);
  }

  async u16(): Promise<number> {
    return (await this.read(2)).readUInt16BE(0);
  }

  async u32(): Promise<number> {
    return (await this.read(4)).readUInt32BE(0);
  }

  async s32(): Promise<number> {
    return (await this.read(4)).readInt32BE(0);
  }

  /** Everything buffered so far, e.g. when a proxy switches from parsing to relaying bytes. */
  drain(): Buffer {
    return this.take(this.length);
  }

  private wake(): void {
    const w = this.waiter;
    if (!w || this.length < w.n) return;
    this.waiter = undefined;
    w.resolve(this.take(w.n));
  }

  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0];
    let out: Buffer;
    if (first && first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      const all = Buffer.concat(this.chunks, this.length);
      out = all.subarray(0, n);
      this.chunks = all.length > n ? [all.subarray(n)] : [];
    }
    this.length -= n;
    return out;
  }
}

/** Feeds a socket into a reader; close and error become read failures. Returns a detach function. */
export function attachSocket(reader: ByteReader, socket: Socket): () => void {
  const onData = (b: Buffer) => reader.push(b);
  const onEnd = () => reader.fail(new RfbError('connection closed by the server', 'closed'));
  const onError = (e: Error) => reader.fail(new RfbError(`socket error: ${e.message}`, 'closed'));
  socket.on('data', onData);
  socket.on('end', onEnd);
  socket.on('close', onEnd);
  socket.on('error', onError);
  return () => {
    socket.off('data', onData);
    socket.off('end', onEnd);
    socket.off('close', onEnd);
    socket.off('error', onError);
  };
}
