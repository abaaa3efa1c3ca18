/**
 * The byte protocol between the benchmark client and the benchmark console (target server).
 *
 * Both ends speak real RFB 3.8 up to ServerInit (security None), so a proxy that runs an RFB security proxy
 * sees a console it can handshake with. After ServerInit every message is a valid RFB message too, in case a
 * proxy parses the stream: the client sends ClientCutText (type 6) commands, the console answers with
 * ServerCutText (type 3) messages.
 *   "S <bytes>"  console streams <bytes> bytes of ServerCutText messages (64 KiB each) to the client
 *   "P"          console answers one ServerCutText "P" (proves the session is open end to end)
 *   other text   console echoes it back as ServerCutText of the same size (round trips)
 */
export const CLIENT_CUT_TEXT = 6;
export const SERVER_CUT_TEXT = 3;
export const CUT_TEXT_HEADER = 8;
/** Size of each ServerCutText message of a stream; stream sizes must be a multiple of it. */
export const STREAM_MESSAGE_BYTES = 64 * 1024;

export function cutText(type: number, text: Buffer): Buffer {
  const msg = Buffer.alloc(CUT_TEXT_HEADER + text.length);
  msg.writeUInt8(type, 0);
  msg.writeUInt32BE(text.length, 4);
  text.copy(msg, CUT_TEXT_HEADER);
  return msg;
}

export function streamCommand(bytes: number): Buffer {
  if (bytes % STREAM_MESSAGE_BYTES !== 0)
    throw new Error(`stream size must be a multiple of ${STREAM_MESSAGE_BYTES} bytes, got ${bytes}`);
  return cutText(CLIENT_CUT_TEXT, Buffer.from(`S ${bytes}`, 'latin1'));
}

/** A ServerInit for a 1024x768 32-bit true-colour desktop named "bench". */
export function serverInit(): Buffer {
  const name = Buffer.from('bench', 'latin1');
  const b = Buffer.alloc(24 + name.length);
  b.writeUInt16BE(1024, 0);
  b.writeUInt16BE(768, 2);
  // pixel format: bpp 32, depth 24, little endian, true colour, max 255/255/255, shifts 16/8/0
  b.writeUInt8(32, 4);
  b.writeUInt8(24, 5);
  b.writeUInt8(0, 6);
  b.writeUInt8(1, 7);
  b.writeUInt16BE(255, 8);
  b.writeUInt16BE(255, 10);
  b.writeUInt16BE(255, 12);
  b.writeUInt8(16, 14);
  b.writeUInt8(8, 15);
  b.writeUInt8(0, 16);
  b.writeUInt32BE(name.length, 20);
  name.copy(b, 24);
  return b;
}
