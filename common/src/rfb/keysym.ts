import { Keysym } from './constants.js';

/** X keysym for one typed character: Latin-1 maps to itself, a few control characters to their keys. */
export function keysymForChar(ch: string): number {
  if (ch === '\n' || ch === '\r') return Keysym.Return;
  if (ch === '\t') return Keysym.Tab;
  if (ch === '\b') return Keysym.BackSpace;
  const code = ch.codePointAt(0) ?? 0;
  if ((code >= 0x20 && code <= 0x7e) || (code >= 0xa0 && code <= 0xff)) return code;
  // X11 maps other Unicode code points to 0x01000000 + code point.
  return 0x01000000 + code;
}
