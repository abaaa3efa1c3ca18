import { randomBytes } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';

/**
 * Writes a fresh, random MIT-MAGIC-COOKIE-1 Xauthority file (mode 0600) at `path`: Xvfb (`-auth`) admits only the
 * clients that present it, x11vnc (`-auth`) and Chromium (XAUTHORITY). Its one entry is a wildcard (any address, any
 * display number), because Xvfb picks its display itself (-displayfd) after the file must exist.
 */
export function writeXauthority(path: string): string {
  const field = (b: Buffer): Buffer => {
    const len = Buffer.alloc(2);
    len.writeUInt16BE(b.length);
    return Buffer.concat([len, b]);
  };
  const familyWild = Buffer.from([0xff, 0xff]);
  const entry = Buffer.concat([
    familyWild,
    field(Buffer.alloc(0)),
    field(Buffer.alloc(0)),
    field(Buffer.from('MIT-MAGIC-COOKIE-1')),
    field(randomBytes(16)),
  ]);
  writeFileSync(path, entry, { mode: 0o600 });
  chmodSync(path, 0o600);
  return path;
}

/** Cookie files by display (":N"), so whatever opens a display the supervisor started finds its cookie. */
const authorities = new Map<string, string>();

export function registerDisplayAuthority(display: string, authFile: string): void {
  authorities.set(display, authFile);
}

export function forgetDisplayAuthority(display: string): void {
  authorities.delete(display);
}

/** DISPLAY and, for a display the supervisor started, XAUTHORITY: what an X client needs to be admitted. */
export function displayEnvironment(display: string): { DISPLAY: string; XAUTHORITY?: string } {
  const auth = authorities.get(display);
  return auth ? { DISPLAY: display, XAUTHORITY: auth } : { DISPLAY: display };
}
