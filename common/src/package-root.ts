import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The directory of the nearest package.json above a module. Programs find their static assets with it,
 * because a module runs from `src/` under tsx and vitest but from `dist/` once bundled.
 */
export function packageRoot(moduleUrl: string): string {
  let dir = dirname(fileURLToPath(moduleUrl));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(moduleUrl)}`);
    dir = parent;
  }
}

/**
 * The directory of package `name` as seen from a module: the module's own package when it is `name`, else
 * node_modules/`name` in a directory above it. A module bundled into another program (bmc-emulator inside
 * bmc-console's dist) finds its own package's assets with it, where packageRoot would find the program's.
 */
export function packageDir(name: string, moduleUrl: string): string {
  let dir = dirname(fileURLToPath(moduleUrl));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === name)
      return dir;
    const installed = join(dir, 'node_modules', name);
    if (existsSync(join(installed, 'package.json'))) return realpathSync(installed);
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`package ${name} not found above ${fileURLToPath(moduleUrl)}`);
    dir = parent;
  }
}
