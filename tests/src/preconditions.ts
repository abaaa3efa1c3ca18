/** Why a test that needs the console image cannot run here, or null when it can. */
import { execFileSync } from 'node:child_process';

export const CONSOLE_IMAGE = process.env.BMC_CONSOLE_IMAGE ?? 'localhost/bmc-console:latest';

export function consoleImageMissing(): string | null {
  try {
    execFileSync('podman', ['image', 'exists', CONSOLE_IMAGE], { stdio: 'ignore' });
    return null;
  } catch {
    return `podman or the image ${CONSOLE_IMAGE} is not available (run npm run image:build)`;
  }
}
