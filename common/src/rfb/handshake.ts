import type { ByteReader } from './byte-reader.js';
import { Limits, SecurityType } from './constants.js';
import { RfbError } from './errors.js';
import { vncAuthResponse } from './vnc-auth.js';

/** Protocol minor version we speak: 3, 7 or 8 (RFB 3.x). */
export type RfbMinor = 3 | 7 | 8;

export interface PixelFormat {
  bitsPerPixel: number;
  depth: number;
  bigEndian: boolean;
  trueColour: boolean;
  redMax: number;
  greenMax: number;
  blueMax: number;
  redShift: number;
  greenShift: number;
  blueShift: number;
}

export interface ServerInit {
  width: number;
  height: number;
  pixelFormat: PixelFormat;
  name: string;
}

const VERSION_RE = /^RFB (\d{3})\.(\d{3})\n$/;

/** Parses a 12-byte ProtocolVersion message; rejects anything that is not `RFB xxx.yyy\n`. */
export function parseVersion(banner: Buffer): { major: number; minor: number; text: string } {
  const text = banner.toString('latin1');
  const m = VERSION_RE.exec(text);
  if (!m)
    throw new RfbError(`not an RFB server: expected "RFB 003.00x\\n" banner, got ${JSON.stringify(text.slice(0, 12))}`);
  return { major: Number(m[1]), minor: Number(m[2]), text: text.trimEnd() };
}

/** The version a client answers with (3.889 from Apple servers counts as 3.8). */
function chooseMinor(major: number, minor: number): RfbMinor {
  if (major !== 3) throw new RfbError(`unsupported RFB major version ${major} (expected 3)`, 'unsupported');
  if (minor >= 8) return 8;
  if (minor === 7) return 7;
  if (minor >= 3) return 3;
  throw new RfbError(`unsupported RFB version 3.${minor} (need 3.3, 3.7 or 3.8)`, 'unsupported');
}

function versionBanner(minor: RfbMinor): Buffer {
  return Buffer.from(`RFB 003.00${minor}\n`, 'latin1');
}

async function readReason(reader: ByteReader): Promise<string> {
  const len = await reader.u32();
  if (len > Limits.maxReasonLength) throw new RfbError(`server failure reason too long (${len} bytes)`);
  return (await reader.read(len)).toString('utf8');
}

type Write = (b: Buffer) => void;

/**
 * Client side of ProtocolVersion + security (up to and including SecurityResult), for None and VNC auth.
 * Leaves the connection ready for ClientInit. Used by RfbClient and by the proxy's security proxy.
 */
export async function negotiateSecurity(
  reader: ByteReader,
  write: Write,
  password: string | undefined,
): Promise<{ minor: RfbMinor; securityType: number }> {
  const v = parseVersion(await reader.read(12));
  const minor = chooseMinor(v.major, v.minor);
  write(versionBanner(minor));

  let chosen: number;
  if (minor === 3) {
    chosen = await reader.u32();
    if (chosen === SecurityType.Invalid)
      throw new RfbError(`server refused the connection: ${await readReason(reader)}`, 'auth');
    if (chosen !== SecurityType.None && chosen !== SecurityType.VncAuth)
      throw new RfbError(
        `unsupported security type ${chosen} (supported: 1 None, 2 VNC authentication)`,
        'unsupported',
      );
  } else {
    const count = await reader.u8();
    if (count === 0) throw new RfbError(`server refused the connection: ${await readReason(reader)}`, 'auth');
    const offered = [...(await reader.read(count))];
    // Prefer VNC auth when we hold a password (the server may offer both), else None.
    const prefs =
      password !== undefined ? [SecurityType.VncAuth, SecurityType.None] : [SecurityType.None, SecurityType.VncAuth];
    const pick = prefs.find((t) => offered.includes(t));
    if (pick === undefined)
      throw new RfbError(
        `no supported security type offered (server offers ${offered.join(',')}; supported: 1 None, 2 VNC authentication)`,
        'unsupported',
      );
    chosen = pick;
    write(Buffer.from([chosen]));
  }

  if (chosen === SecurityType.VncAuth) {
    if (password === undefined)
      throw new RfbError('server requires VNC authentication but no password was given', 'auth');
    const challenge = await reader.read(16);
    write(vncAuthResponse(challenge, password));
  }

  // SecurityResult: always in 3.8, only after VNC auth before that.
  if (minor === 8 || chosen === SecurityType.VncAuth) {
    const result = await reader.u32();
    if (result !== 0) {
      const reason = minor === 8 ? await readReason(reader) : 'authentication failed';
      throw new RfbError(`VNC authentication failed: ${reason}`, 'auth');
    }
  }
  return { minor, securityType: chosen };
}

/** Reads a 16-byte PIXEL_FORMAT structure. */
export function parsePixelFormat(b: Buffer): PixelFormat {
  return {
    bitsPerPixel: b.readUInt8(0),
    depth: b.readUInt8(1),
    bigEndian: b.readUInt8(2) !== 0,
    trueColour: b.readUInt8(3) !== 0,
    redMax: b.readUInt16BE(4),
    greenMax: b.readUInt16BE(6),
    blueMax: b.readUInt16BE(8),
    redShift: b.readUInt8(10),
    greenShift: b.readUInt8(11),
    blueShift: b.readUInt8(12),
  };
}

export function checkDimensions(width: number, height: number, what: string): void {
  if (width > Limits.maxDimension || height > Limits.maxDimension || width * height > Limits.maxPixels) {
    throw new RfbError(
      `${what} ${width}x${height} exceeds the limit (${Limits.maxDimension} per side, ${Limits.maxPixels} pixels)`,
    );
  }
}

/** ServerInit: framebuffer size, the server's native pixel format and the desktop name. */
export async function readServerInit(reader: ByteReader): Promise<ServerInit> {
  const head = await reader.read(24);
  const width = head.readUInt16BE(0);
  const height = head.readUInt16BE(2);
  checkDimensions(width, height, 'framebuffer');
  const pixelFormat = parsePixelFormat(head.subarray(4, 20));
  const nameLength = head.readUInt32BE(20);
  if (nameLength > Limits.maxNameLength) throw new RfbError(`desktop name too long (${nameLength} bytes)`);
  const name = (await reader.read(nameLength)).toString('utf8');
  return { width, height, pixelFormat, name };
}
