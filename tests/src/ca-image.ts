/**
 * A console image that trusts a private CA the way an operator sets up `verify_ca: true` (docs/image.md, "verify_ca
 * in the browser"): derived from the console image, the CA in Debian's local CA directory, update-ca-certificates
 * run. The agent mounts no CA into a console for `true`, so its `console_image` must be this image.
 */
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CONSOLE_IMAGE } from './preconditions.js';

// scripts/lib.sh exports this too; tests started by hand get it here.
process.env.CONTAINERS_CONF ??= new URL('../../deploy/containers.conf', import.meta.url).pathname;

export interface CaImage {
  /** The derived image's tag, for the agent's `console_image`. */
  image: string;
  /** Removes the image (call after every console of it has stopped). */
  remove(): void;
}

/**
 * Builds `localhost/<name>-<pid>:latest` from the console image with `caFile` (PEM) trusted system-wide. The tag is
 * per process, so parallel runs never remove each other's image.
 */
export async function caConsoleImage(caFile: string, name: string): Promise<CaImage> {
  const image = `localhost/${name}-${process.pid}:latest`;
  const ctx = mkdtempSync(join(tmpdir(), `${name}-ctx-`));
  try {
    copyFileSync(caFile, join(ctx, 'bmc-emulator-ca.crt'));
    writeFileSync(
      join(ctx, 'Containerfile'),
      [
        `FROM ${CONSOLE_IMAGE}`,
        'USER root',
        'COPY bmc-emulator-ca.crt /usr/local/share/ca-certificates/bmc-emulator-ca.crt',
        'RUN update-ca-certificates',
        'USER console',
        '',
      ].join('\n'),
    );
    await promisify(execFile)('podman', ['build', '-q', '-t', image, '-f', join(ctx, 'Containerfile'), ctx], {
      maxBuffer: 16 << 20,
    });
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
  return {
    image,
    remove() {
      try {
        execFileSync('podman', ['rmi', '-f', image], { stdio: 'ignore' });
      } catch {
        // Best effort: one leftover tagged image must not fail the file's tests.
      }
    },
  };
}
