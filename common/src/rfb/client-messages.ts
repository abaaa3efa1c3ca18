import { RfbError } from './errors.js';

/**
 * A ClientCutText whose text is at most this long is handed to the gate whole; a longer one (its declared length
 * may be up to 2^31) streams by in pieces after its header, so it never grows memory.
 */
export const MAX_WHOLE_CUT_TEXT = 64 * 1024;

export interface ClientMessage {
  type: number;
  /** Keys, pointer, clipboard, power and resize requests: what a viewer that may not type must not send. */
  input: boolean;
  /** The message's bytes (valid only during the gate call). */
  bytes: Buffer;
  /** false: only the 8-byte header of a long ClientCutText; its text follows, forwarded or skipped as decided. */
  whole: boolean;
}

/** Decides one message, in stream order: true forwards it to the console. */
export type ClientMessageGate = (m: ClientMessage) => boolean;

const EMPTY = Buffer.alloc(0);
const SET_ENCODINGS = 2;
/** The pseudo-encoding after which a viewer sends 7-byte PointerEvents (rfbproto ExtendedMouseButtons). */
const EXTENDED_MOUSE_BUTTONS = -316;

/**
 * A server that took ExtendedMouseButtons (a BMC's newer libvncserver) would get 7-byte PointerEvents, which this
 * splitter cannot tell from 6-byte ones: the offer is removed from the viewer's SetEncodings, in place, by putting
 * another encoding of the same list there (a duplicate changes nothing), so both ends keep the 6-byte form.
 */
function withoutExtendedMouseButtons(msg: Buffer): void {
  const count = msg.readUInt16BE(2);
  let other = 0; // Raw, which every server has, when the list holds nothing else
  for (let i = 0; i < count; i++) {
    const e = msg.readInt32BE(4 + 4 * i);
    if (e !== EXTENDED_MOUSE_BUTTONS) {
      other = e;
      break;
    }
  }
  for (let i = 0; i < count; i++)
    if (msg.readInt32BE(4 + 4 * i) === EXTENDED_MOUSE_BUTTONS) msg.writeInt32BE(other, 4 + 4 * i);
}

/**
 * Splits the viewer->console RFB stream (after ClientInit) into whole client messages and forwards those the gate
 * lets through. A message type it cannot size throws RfbError: the proxy cannot know where the next one starts.
 */
export class ClientMessages {
  private pending: Buffer = EMPTY;
  /** Text bytes of a streamed ClientCutText still to come, and whether they go to the console. */
  private streaming = 0;
  private streamForward = false;

  constructor(private readonly gate: ClientMessageGate) {}

  /** Returns the bytes to forward to the console (a slice of the input when they are contiguous). */
  push(chunk: Buffer): Buffer {
    const buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: Buffer[] = [];
    // Forwarded bytes are kept as ranges of buf, merged when adjacent, so a run of passed messages is one slice.
    let from = 0;
    let to = 0;
    const forward = (a: number, b: number): void => {
      if (a === to && to > from) to = b;
      else {
        if (to > from) out.push(buf.subarray(from, to));
        from = a;
        to = b;
      }
    };
    let at = 0;
    for (;;) {
      if (this.streaming > 0) {
        const n = Math.min(this.streaming, buf.length - at);
        if (this.streamForward && n > 0) forward(at, at + n);
        this.streaming -= n;
        at += n;
        if (this.streaming > 0) break;
      }
      const size = messageSize(buf, at);
      if (size === undefined) break;
      if (size.cutText !== undefined && size.cutText > MAX_WHOLE_CUT_TEXT) {
        const pass = this.gate({ type: 6, input: true, bytes: buf.subarray(at, at + 8), whole: false });
        if (pass) forward(at, at + 8);
        at += 8;
        this.streaming = size.cutText;
        this.streamForward = pass;
        continue;
      }
      if (at + size.length > buf.length) break;
      const bytes = buf.subarray(at, at + size.length);
      if (bytes[0] === SET_ENCODINGS) withoutExtendedMouseButtons(bytes);
      if (this.gate({ type: bytes.readUInt8(0), input: size.input, bytes, whole: true })) forward(at, at + size.length);
      at += size.length;
    }
    if (to > from) out.push(buf.subarray(from, to));
    this.pending = at < buf.length ? Buffer.from(buf.subarray(at)) : EMPTY;
    if (out.length === 0) return EMPTY;
    return out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out);
  }
}

/**
 * Size of the client message at `at` and whether it is input; undefined while its header is incomplete. `cutText`:
 * a ClientCutText, whose text of that many bytes follows its 8-byte header.
 */
function messageSize(b: Buffer, at: number): { length: number; input: boolean; cutText?: number } | undefined {
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
    case 5: // PointerEvent (never the 7-byte form: ExtendedMouseButtons is taken out of SetEncodings)
      return { length: 6, input: true };
    case 6: {
      // ClientCutText (a negative length marks the extended clipboard format)
      if (!need(8)) return undefined;
      const text = Math.abs(b.readInt32BE(at + 4));
      return { length: 8 + text, input: true, cutText: text };
    }
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
      throw new RfbError(`unknown QEMU client message ${sub}`, 'unsupported');
    }
    default:
      throw new RfbError(`unknown client message type ${type}`, 'unsupported');
  }
}
