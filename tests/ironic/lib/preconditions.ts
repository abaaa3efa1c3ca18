/** Why the Ironic end-to-end tests cannot run here (printed and given as the skip reason), or null. */
import { existsSync } from 'node:fs';
import { consoleImageMissing } from '../../src/preconditions.js';
import { ironicImage } from './ironic-image.js';

export interface IronicPreconditions {
  /** The Ironic image, when everything is there. */
  image: string;
  skip: string | null;
}

/** Checks the cheap things first, so a machine without podman does not try to build an image. */
export async function ironicPreconditions(what: string): Promise<IronicPreconditions> {
  let skip = consoleImageMissing();
  if (!skip && !existsSync(process.env.CHROMIUM ?? '/usr/bin/chromium'))
    skip = "Debian's chromium is not installed (/usr/bin/chromium)";
  let image = '';
  if (!skip) {
    const r = await ironicImage();
    if (r.skip !== undefined) skip = r.skip;
    else image = r.image;
  }
  if (skip) console.warn(`skipping ${what}: ${skip}`);
  return { image, skip };
}
