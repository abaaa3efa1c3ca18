import type { ByteReader } from '@bmc-console/common/rfb/byte-reader';
import { SecurityType } from '@bmc-console/common/rfb/constants';
import { RfbError } from '@bmc-console/common/rfb/errors';
import { negotiateSecurity, parseVersion } from '@bmc-console/common/rfb/handshake';

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
 * RFB security proxy: performs VNC authentication toward the console with the console's password, then offers
 * the browser only security type None (RFB 3.8). The browser never sees or sends a VNC password. On return both
 * sides stand just before ClientInit; the caller relays everything from there (leftover bytes included).
 */
export async function proxySecurity(consoleEnd: RfbEnd, browserEnd: RfbEnd, vncPassword: string): Promise<void> {
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
