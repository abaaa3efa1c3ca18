import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageDir } from '@bmc-console/common/package-root';

let staticDir: string | undefined;

/**
 * A file of the emulator's static/ folder. Looked up on first use, not at import: the console image bundles the
 * emulator's code (for `bmc-console try`) without its static files, and must still load.
 */
export function readStaticFile(name: string): string {
  staticDir ??= join(packageDir('@bmc-console/bmc-emulator', import.meta.url), 'static');
  return readFileSync(join(staticDir, name), 'utf8');
}
