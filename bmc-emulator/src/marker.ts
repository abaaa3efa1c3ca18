import type { ProfileName } from './profiles.js';

/**
 * The colour of the solid square the KVM host screen draws at its top-left corner, one per profile, so tests can
 * tell a working console (and which vendor's) by pixels. No login page uses these colours.
 */
const colours: Record<ProfileName, [number, number, number]> = {
  idrac7: [0, 160, 160],
  idrac8: [0, 200, 255],
  idrac9: [0, 80, 255],
  idrac10: [80, 0, 255],
  ilo4: [0, 255, 128],
  ilo5: [0, 192, 0],
  ilo6: [128, 255, 0],
  ilo7: [0, 128, 64],
  xcc: [255, 0, 0],
  xcc2: [192, 0, 96],
  xcc3: [128, 0, 0],
  'supermicro-x11': [255, 192, 0],
  'supermicro-x12': [255, 224, 128],
  'supermicro-x13': [255, 128, 0],
  'supermicro-h13': [192, 96, 0],
  openbmc: [255, 0, 255],
  ami: [0, 255, 255],
  unknown: [255, 255, 0],
};

export function kvmMarkerColor(profile: ProfileName): { r: number; g: number; b: number; hex: string } {
  const [r, g, b] = colours[profile];
  const hex = `#${[r, g, b].map((v) => v.toString(16).padStart(2, '0')).join('')}`;
  return { r, g, b, hex };
}

/**
 * Whether a VNC frame (RGBA) shows the KVM canvas: at least `minPixels` in the marker's colour, which no login or
 * status page uses. For tests and the benchmark, which watch a console through VNC.
 */
export function showsMarker(rgba: Buffer, colour: { r: number; g: number; b: number }, minPixels = 400): boolean {
  let n = 0;
  for (let i = 0; i + 3 < rgba.length; i += 4) {
    if (
      Math.abs(rgba[i]! - colour.r) <= 24 &&
      Math.abs(rgba[i + 1]! - colour.g) <= 24 &&
      Math.abs(rgba[i + 2]! - colour.b) <= 24
    ) {
      if (++n >= minPixels) return true;
    }
  }
  return false;
}
