/** X keysym names (X11 keysymdef.h) for the keys a console sees, to show typed input in `recordings show`. */
const NAMED = new Map<number, string>([
  [0x20, 'space'],
  [0xff08, 'BackSpace'],
  [0xff09, 'Tab'],
  [0xff0d, 'Return'],
  [0xff13, 'Pause'],
  [0xff14, 'Scroll_Lock'],
  [0xff15, 'Sys_Req'],
  [0xff1b, 'Escape'],
  [0xff50, 'Home'],
  [0xff51, 'Left'],
  [0xff52, 'Up'],
  [0xff53, 'Right'],
  [0xff54, 'Down'],
  [0xff55, 'Page_Up'],
  [0xff56, 'Page_Down'],
  [0xff57, 'End'],
  [0xff61, 'Print'],
  [0xff63, 'Insert'],
  [0xff67, 'Menu'],
  [0xff7f, 'Num_Lock'],
  [0xff8d, 'KP_Enter'],
  [0xffaa, 'KP_Multiply'],
  [0xffab, 'KP_Add'],
  [0xffad, 'KP_Subtract'],
  [0xffae, 'KP_Decimal'],
  [0xffaf, 'KP_Divide'],
  [0xffe1, 'Shift_L'],
  [0xffe2, 'Shift_R'],
  [0xffe3, 'Control_L'],
  [0xffe4, 'Control_R'],
  [0xffe5, 'Caps_Lock'],
  [0xffe7, 'Meta_L'],
  [0xffe8, 'Meta_R'],
  [0xffe9, 'Alt_L'],
  [0xffea, 'Alt_R'],
  [0xffeb, 'Super_L'],
  [0xffec, 'Super_R'],
  [0xfe03, 'ISO_Level3_Shift'],
  [0xffff, 'Delete'],
]);

/** 'a', 'Return', 'Shift_L', 'F5', 'KP_7', 'é'; unknown keysyms as 0x hex. */
export function keysymName(keysym: number): string {
  const named = NAMED.get(keysym);
  if (named !== undefined) return named;
  if ((keysym > 0x20 && keysym <= 0x7e) || (keysym >= 0xa0 && keysym <= 0xff)) return String.fromCharCode(keysym);
  if (keysym >= 0xffbe && keysym <= 0xffe0) return `F${keysym - 0xffbe + 1}`;
  if (keysym >= 0xffb0 && keysym <= 0xffb9) return `KP_${keysym - 0xffb0}`;
  // X11 maps Unicode code points beyond Latin-1 to 0x01000000 + code point.
  if (keysym >= 0x01000100 && keysym <= 0x0110ffff) return String.fromCodePoint(keysym - 0x01000000);
  return `0x${keysym.toString(16).padStart(4, '0')}`;
}
