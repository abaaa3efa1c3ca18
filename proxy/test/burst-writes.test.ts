import { Writable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { BurstWrites } from '../src/burst-writes.js';

/** A socket stand-in that records each write call it gets: one entry per writev, with its chunk count. */
function recordingSocket(): { socket: Writable; calls: number[] } {
  const calls: number[] = [];
  const socket = new Writable({
    write(_chunk, _enc, cb) {
      calls.push(1);
      cb();
    },
    writev(chunks, cb) {
      calls.push(chunks.length);
      cb();
    },
  });
  return { socket, calls };
}

function relay(burst: BurstWrites, socket: Writable, full: boolean): void {
  burst.beforeWrite(full);
  socket.write(Buffer.alloc(8));
  burst.afterWrite(full);
}

describe('BurstWrites (console reads to the browser socket)', () => {
  it('sends the frames of a burst of full reads in one write once a short read ends it', () => {
    const { socket, calls } = recordingSocket();
    const burst = new BurstWrites(socket);
    for (let i = 0; i < 5; i++) relay(burst, socket, true);
    expect(calls).toEqual([]);
    relay(burst, socket, false);
    expect(calls).toEqual([6]);
  });

  it('does not hold back a short read (an interactive update)', () => {
    const { socket, calls } = recordingSocket();
    const burst = new BurstWrites(socket);
    relay(burst, socket, false);
    expect(calls).toEqual([1]);
  });

  it('ends the cork after this turn of the event loop when no short read comes', async () => {
    const { socket, calls } = recordingSocket();
    const burst = new BurstWrites(socket);
    relay(burst, socket, true);
    relay(burst, socket, true);
    expect(calls).toEqual([]);
    await nextTurn();
    expect(calls).toEqual([2]);
    relay(burst, socket, false);
    expect(calls).toEqual([2, 1]);
  });
});
