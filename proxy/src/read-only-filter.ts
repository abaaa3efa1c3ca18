import { RfbError } from '@bmc-console/common/rfb/errors';

/**
 * Drops viewer input (keys, pointer, clipboard, power/resize requests) from the viewer→console RFB stream of a
 * read-only session, as a second line behind the console's own `x11vnc -viewonly`. It needs to know where the
 * message stream starts, so it runs where the proxy terminated the handshake (the security proxy path): the first
 * byte is ClientInit, then client messages. A message type it cannot size ends the session.
 */
export class ReadOnlyFilter {
  private pending = Buffer.alloc(0);
  private clientInitSeen = false;
  /** Bytes of a dropped ClientCutText text still to come: skipped as they arrive, never buffered. */
  private skipping = 0;
  /** Input messages dropped so far (for the audit line). */
  dropped = 0;

  /** Returns the bytes to forward to the console. Throws RfbError on a message it does not know. */
  push(chunk: Buffer): Buffer {
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: Buffer[] = [];
    if (!this.clientInitSeen && buf.length > 0) {
      out.push(buf.subarray(0, 1));
      buf = buf.subarray(1);
      this.clientInitSeen = true;
    }
    let at = 0;
    for (;;) {
      if (this.skipping > 0) {
        const n = Math.min(this.skipping, buf.length - at);
        this.skipping -= n;
        at += n;
        if (this.skipping > 0) break;
      }
      const size = messageSize(buf, at);
      if (size === undefined) break;
      if (size.skipAfter !== undefined) {
        // ClientCutText: its declared length (up to 2^31) is only skipped, so a huge one cannot grow memory.
        this.dropped++;
        at += size.length;
        this.skipping = size.skipAfter;
        continue;
      }
      if (at + size.length > buf.length) break;
      if (size.input) this.dropped++;
      else out.push(buf.subarray(at, at + size.length));
      at += size.length;
    }
    this.pending = Buffer.from(buf.subarray(at));
    return out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out);
  }
}

/**
 * Size of the client message at `at`, whether it is input; undefined while its header is incomplete. `skipAfter`:
 * the message is `length` header bytes followed by that many bytes to skip.
 */
function messageSize(b: Buffer, at: number): { length: number; input: boolean; skipAfter?: number } | undefined {
  const need = (n: number) => b.length - at >= n;
  if (!need(1)) return undefined;
  const type = b.readUInt8(at);
  switch (type) {
    case 0: // SetPixelFormat
      return { length: 20, input: false };
    case 2: // SetEncodings
      return need(4) ? { length: 4 + 4 * b.readUInt16BE(at + 2), input: false } : undefined;
    case 3: // FramebufferUpdateRequest
      return { length: 10, input: false };
    case 4: // KeyEvent
      return { length: 8, input: true };
    case 5: // PointerEvent
      return { length: 6, input: true };
    case 6: // ClientCutText (a negative length marks the extended clipboard format)
      return need(8) ? { length: 8, input: true, skipAfter: Math.abs(b.readInt32BE(at + 4)) } : undefined;
    case 150: // EnableContinuousUpdates
      return { length: 10, input: false };
    case 248: // ClientFence
      return need(9) ? { length: 9 + b.readUInt8(at + 8), input: false } : undefined;
    case 250: // xvp (power actions)
      return { length: 4, input: true };
    case 251: // SetDesktopSize
      return need(7) ? { length: 8 + 16 * b.readUInt8(at + 6), input: true } : undefined;
    case 255: {
      // QEMU: ExtendedKeyEvent (input) or audio control
      if (!need(4)) return undefined;
      const sub = b.readUInt8(at + 1);
      if (sub === 0) return { length: 12, input: true };
      if (sub === 1) return { length: b.readUInt16BE(at + 2) === 2 ? 10 : 4, input: false };
      throw new RfbError(`unknown QEMU client message ${sub} in a read-only session`, 'unsupported');
    }
    default:
      throw new RfbError(`unknown client message type ${type} in a read-only session`, 'unsupported');
  }
}
