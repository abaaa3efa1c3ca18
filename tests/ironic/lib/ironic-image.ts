/**
 * The real Ironic 29 image (scripts/ironic-image.sh builds it once and reuses it while its inputs are unchanged),
 * or why it cannot be had here, so the Ironic tests report themselves skipped with that reason.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './podman.js';

export type IronicImage = { image: string; skip?: undefined } | { image?: undefined; skip: string };

let pending: Promise<IronicImage> | undefined;

/**
 * Builds (cold: several minutes, mostly apt) or reuses the image; never throws. scripts/test.sh and
 * scripts/ironic-test.sh build it once before vitest and pass BMC_IRONIC_IMAGE (the image) or
 * BMC_IRONIC_IMAGE_UNAVAILABLE (why there is none), so each test file does not try again.
 */
export function ironicImage(): Promise<IronicImage> {
  const given = process.env.BMC_IRONIC_IMAGE?.trim();
  const unavailable = process.env.BMC_IRONIC_IMAGE_UNAVAILABLE?.trim();
  if (given) return Promise.resolve({ image: given });
  if (unavailable) return Promise.resolve({ skip: unavailable });
  pending ??= new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn('bash', [join(REPO_ROOT, 'scripts', 'ironic-image.sh')], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    child.once('error', (e) => resolve({ skip: `cannot run scripts/ironic-image.sh: ${e.message}` }));
    child.once('close', (code) => {
      const image = out.trim().split('\n').pop() ?? '';
      if (code === 0 && image) {
        console.info(`Ironic image ${image} ready in ${Math.round((Date.now() - t0) / 1000)} s`);
        resolve({ image });
        return;
      }
      const last = err.trim().split('\n').slice(-3).join(' | ');
      resolve({ skip: `the Ironic 29 image could not be built (scripts/ironic-image.sh exit ${code}): ${last}` });
    });
  });
  return pending;
}
