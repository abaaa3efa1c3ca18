import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { ByteReader } from '../rfb/byte-reader.js';
import { RfbError } from '../rfb/errors.js';
import { parseVersion, type ServerInit } from '../rfb/handshake.js';
import { encodePixelFormat } from '../rfb/messages.js';
import { vncAuthResponse } from '../rfb/vnc-auth.js';

const NONE = 1;
const VNC_AUTH = 2;

/** ServerInit as the wire carries it. */
export function encodeServerInit(init: ServerInit): Buffer {
  const name = Buffer.from(init.name, 'utf8');
  const b = Buffer.alloc(24 + name.length);
  b.writeUInt16BE(init.width, 0);
  b.writeUInt16BE(init.height, 2);
  encodePixelFormat(init.pixelFormat).copy(b, 4);
  b.writeUInt32BE(name.length, 20);
  name.copy(b, 24);
  return b;
}

/**
 * The server side of an RFB handshake toward the viewer, as a plain VNC server speaks it (3.3, 3.7 or 3.8, whichever
 * the viewer answers), with security None, or VNC authentication when a `password` is given (the agent's RFB relay
 * of a console started with a VNC password): the BMC's own handshake is done already, so the viewer sees standard
 * RFB whatever the vendor's preamble. Leaves both directions at the start of the message streams.
 */
export async function serveViewerHandshake(
  reader: ByteReader,
  write: (b: Buffer) => void,
  init: ServerInit,
  password?: string,
): Promise<void> {
  const offered = password === undefined ? NONE : VNC_AUTH;
  write(Buffer.from('RFB 003.008\n', 'latin1'));
  const v = parseVersion(await reader.read(12));
  if (v.major !== 3 || v.minor < 3) throw new RfbError(`viewer answered RFB ${v.major}.${v.minor}`, 'unsupported');
  if (v.minor < 7) write(u32(offered));
  else {
    write(Buffer.from([1, offered]));
    const chosen = await reader.u8();
    if (chosen !== offered)
      throw new RfbError(`viewer chose security type ${chosen}; only ${offered} is offered`, 'auth');
  }
  if (password !== undefined) {
    const challenge = randomBytes(16);
    write(challenge);
    const answer = await reader.read(16);
    if (!timingSafeEqual(answer, vncAuthResponse(challenge, password))) {
      const why = Buffer.from('authentication failed', 'latin1');
      write(v.minor >= 8 ? Buffer.concat([u32(1), u32(why.length), why]) : u32(1));
      throw new RfbError('the viewer failed VNC authentication', 'auth');
    }
  }
  // SecurityResult: 3.8 always, earlier versions only after VNC authentication.
  if (v.minor >= 8 || password !== undefined) write(u32(0));
  await reader.u8(); // ClientInit: the BMC session is shared already
  write(encodeServerInit(init));
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
