import type { ProfileName } from './profiles.js';

/**
 * The colour of the solid square the KVM host screen draws at its top-left corner, one per profile, so tests can
 * tell a working console (and which vendor's) by pixels. No login page uses these colours.
 */
const colours: Record<ProfileName, [number, number, number]> = {
  idrac8: [0, 200, 255],
  idrac9: [0, 80, 255],
  idrac10: [80, 0, 255],
  ilo4: [0, 255, 128],
  ilo5: [0, 192, 0],
  ilo6: [128, 255, 0],
  ilo7: [0, 128, 64],
  xcc: [255, 0, 0],
  xcc2: [192, 0, 96],
  'supermicro-x11': [255, 192, 0],
  'supermicro-x13': [255, 128, 0],
  openbmc: [255, 0, 255],
  ami: [0, 255, 255],
  unknown: [255, 255, 0],
};

export function kvmMarkerColor(profile: ProfileName): { r: number; g: number; b: number; hex: string } {
  const [r, g, b] = colours[profile];
  const hex = `#${[r, g, b].map((v) => v.toString(16).padStart(2, '0')).join('')}`;
  return { r, g, b, hex };
}
