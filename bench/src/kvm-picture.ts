/**
 * Whether a VNC frame shows the emulator's KVM canvas: the emulator draws a 64x64 square in a per-profile colour
 * at the canvas' top-left (bmc-emulator/src/marker.ts), a colour no login or status page uses.
 */
export function showsMarker(rgba: Buffer, colour: { r: number; g: number; b: number }, minPixels = 400): boolean {
  let n = 0;
  for (let i = 0; i + 3 < rgba.length; i += 4) {
    if (Math.abs(rgba[i]! - colour.r) <= 24 && Math.abs(rgba[i + 1]! - colour.g) <= 24 && Math.abs(rgba[i + 2]! - colour.b) <= 24) {
      if (++n >= minPixels) return true;
    }
  }
  return false;
}
