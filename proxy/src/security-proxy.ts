import type { ByteReader } from '@bmc-console/common/rfb/byte-reader';
import { Limits, SecurityType } from '@bmc-console/common/rfb/constants';
import { RfbError } from '@bmc-console/common/rfb/errors';
import { checkDimensions, negotiateSecurity, parseVersion } from '@bmc-console/common/rfb/handshake';

export interface RfbEnd {
  reader: ByteReader;
  write(b: Buffer): void;
}

function failureResult(reason: string): Buffer {
  const text = Buffer.from(reason, 'utf8');
  const b = Buffer.alloc(8 + text.length);
  b.writeUInt32BE(1, 0);
  b.writeUInt32BE(text.length, 4);
  text.copy(b, 8);
  return b;
}

/**
 * RFB security proxy: authenticates to the console (VNC authentication with the console's password, or None toward
 * a console without one), then offers the browser only security type None (RFB 3.8). The browser never sees or
 * sends a VNC password. On return both sides stand just before ClientInit.
 */
export async function proxySecurity(
  consoleEnd: RfbEnd,
  browserEnd: RfbEnd,
  vncPassword: string | undefined,
): Promise<void> {
  // Authenticate to the console first, so a failure never half-opens the browser's session.
  try {
    await negotiateSecurity(consoleEnd.reader, consoleEnd.write, vncPassword);
  } catch (err) {
    const e = err instanceof RfbError ? err : new RfbError(String(err));
    throw new RfbError(`console ${e.code === 'auth' ? 'authentication' : 'handshake'} failed: ${e.message}`, e.code);
  }

  browserEnd.write(Buffer.from('RFB 003.008\n', 'latin1'));
  const v = parseVersion(await browserEnd.reader.read(12));
  if (v.major !== 3 || v.minor !== 8)
    throw new RfbError(`viewer answered RFB ${v.major}.${v.minor}; the proxy speaks 3.8 only`, 'unsupported');
  browserEnd.write(Buffer.from([1, SecurityType.None]));
  const chosen = await browserEnd.reader.u8();
  if (chosen !== SecurityType.None) {
    // A password typed into a viewer is neither needed nor accepted: the proxy holds the console's password.
    browserEnd.write(
      failureResult('only security type None is offered: the proxy authenticates to the console itself'),
    );
    throw new RfbError(`viewer chose security type ${chosen}; only None (1) is offered`, 'unsupported');
  }
  browserEnd.write(Buffer.from([0, 0, 0, 0]));
}

/**
 * Relays the viewer's ClientInit (always as shared: every viewer of a console has its own connection, and an
 * unshared one would throw the others out) and reads the console's ServerInit, returned whole for the caller to
 * send on. After it both sides stand at the start of the message streams.
 */
export async function relayInit(consoleEnd: RfbEnd, browserEnd: RfbEnd): Promise<Buffer> {
  await browserEnd.reader.u8();
  consoleEnd.write(Buffer.from([1]));
  try {
    const head = await consoleEnd.reader.read(24);
    checkDimensions(head.readUInt16BE(0), head.readUInt16BE(2), 'framebuffer');
    const nameLength = head.readUInt32BE(20);
    if (nameLength > Limits.maxNameLength) throw new RfbError(`desktop name too long (${nameLength} bytes)`);
    return Buffer.concat([head, await consoleEnd.reader.read(nameLength)]);
  } catch (err) {
    const e = err instanceof RfbError ? err : new RfbError(String(err));
    throw new RfbError(`console ServerInit failed: ${e.message}`, e.code);
  }
}
