/** X keysyms of non-character keys, by the KeyboardEvent.key name kvm.js reports for them. */
const NAMED = new Map<number, string>([
  [0xff08, 'Backspace'],
  [0xff09, 'Tab'],
  [0xff0d, 'Enter'],
  [0xff13, 'Pause'],
  [0xff14, 'ScrollLock'],
  [0xff1b, 'Escape'],
  [0xff50, 'Home'],
  [0xff51, 'ArrowLeft'],
  [0xff52, 'ArrowUp'],
  [0xff53, 'ArrowRight'],
  [0xff54, 'ArrowDown'],
  [0xff55, 'PageUp'],
  [0xff56, 'PageDown'],
  [0xff57, 'End'],
  [0xff61, 'PrintScreen'],
  [0xff63, 'Insert'],
  [0xff67, 'ContextMenu'],
  [0xff7f, 'NumLock'],
  [0xff8d, 'Enter'],
  [0xffe1, 'Shift'],
  [0xffe2, 'Shift'],
  [0xffe3, 'Control'],
  [0xffe4, 'Control'],
  [0xffe5, 'CapsLock'],
  [0xffe7, 'Meta'],
  [0xffe8, 'Meta'],
  [0xffe9, 'Alt'],
  [0xffea, 'Alt'],
  [0xffeb, 'Meta'],
  [0xffec, 'Meta'],
  [0xfe03, 'AltGraph'],
  [0xffff, 'Delete'],
]);

/** Keypad keysyms that type a character (KP_0..KP_9, KP_Multiply..KP_Divide). */
const KEYPAD = new Map<number, string>([
  [0xffaa, '*'],
  [0xffab, '+'],
  [0xffad, '-'],
  [0xffae, '.'],
  [0xffaf, '/'],
]);

/**
 * The key name kvm.js would report (KeyboardEvent.key) for an RFB KeyEvent keysym: characters as themselves,
 * named keys as 'Enter', 'Backspace', 'ArrowUp', 'F1', ...; anything else 'Unidentified'.
 */
export function keyName(keysym: number): string {
  if ((keysym >= 0x20 && keysym <= 0x7e) || (keysym >= 0xa0 && keysym <= 0xff)) return String.fromCharCode(keysym);
  // X11 maps Unicode code points beyond Latin-1 to 0x01000000 + code point.
  if (keysym >= 0x01000100 && keysym <= 0x0110ffff) return String.fromCodePoint(keysym - 0x01000000);
  if (keysym >= 0xffb0 && keysym <= 0xffb9) return String(keysym - 0xffb0);
  if (keysym >= 0xffbe && keysym <= 0xffd5) return `F${keysym - 0xffbe + 1}`;
  return NAMED.get(keysym) ?? KEYPAD.get(keysym) ?? 'Unidentified';
}
