import type { ByteReader } from '../rfb/byte-reader.js';
import { RfbError } from '../rfb/errors.js';
import { parseVersion, type ServerInit } from '../rfb/handshake.js';
import { encodePixelFormat } from '../rfb/messages.js';

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
 * The server side of an RFB handshake toward the viewer, as a plain VNC server with security None speaks it (3.3,
 * 3.7 or 3.8, whichever the viewer answers): the BMC's own handshake is done already, so the viewer sees standard
 * RFB whatever the vendor's preamble. Leaves both directions at the start of the message streams.
 */
export async function serveViewerHandshake(
  reader: ByteReader,
  write: (b: Buffer) => void,
  init: ServerInit,
): Promise<void> {
  write(Buffer.from('RFB 003.008\n', 'latin1'));
  const v = parseVersion(await reader.read(12));
  if (v.major !== 3 || v.minor < 3) throw new RfbError(`viewer answered RFB ${v.major}.${v.minor}`, 'unsupported');
  if (v.minor < 7) write(Buffer.from([0, 0, 0, 1]));
  else {
    write(Buffer.from([1, 1]));
    const chosen = await reader.u8();
    if (chosen !== 1) throw new RfbError(`viewer chose security type ${chosen}; only None (1) is offered`);
    if (v.minor >= 8) write(Buffer.from([0, 0, 0, 0]));
  }
  await reader.u8(); // ClientInit: the BMC session is shared already
  write(encodeServerInit(init));
}
