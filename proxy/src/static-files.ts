import { readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, sep } from 'node:path';
import { packageRoot } from '@bmc-console/common/package-root';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};

export interface StaticFile {
  file: string;
  type: string;
  /** Read once at start-up: the set is small (~600 KB) and fixed. */
  body: Buffer;
}

function addTree(root: string, urlPrefix: string, into: Map<string, StaticFile>): void {
  const files = new Map<string, StaticFile>();
  const visit = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) visit(full);
      else {
        const type = TYPES[extname(name)];
        if (type)
          files.set(`${urlPrefix}${relative(root, full).split(sep).join('/')}`, {
            file: full,
            type,
            body: readFileSync(full),
          });
      }
    }
  };
  visit(root);
  for (const [k, v] of files) into.set(k, v);
}

/**
 * The exact set of files the proxy serves, fixed at start-up: our viewer (proxy/static) and noVNC's core/ and
 * vendor/ from node_modules. A URL not in this map is a 404, so no path ever reaches the file system.
 */
export function staticFileMap(): Map<string, StaticFile> {
  const map = new Map<string, StaticFile>();
  addTree(join(packageRoot(import.meta.url), 'static'), '/static/', map);
  const novncRoot = dirname(dirname(createRequire(import.meta.url).resolve('@novnc/novnc')));
  addTree(join(novncRoot, 'core'), '/novnc/core/', map);
  addTree(join(novncRoot, 'vendor'), '/novnc/vendor/', map);
  return map;
}
