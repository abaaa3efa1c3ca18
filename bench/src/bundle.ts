import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const benchRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Bundles a bench/src entry (with the workspace code it imports, e.g. the proxy) into bench/dist/<name>.mjs,
 * the way scripts/build.mjs bundles the real programs, so that measured processes run plain node: no tsx
 * loader in their memory or start-up time, and no loader thread (node 20 runs tsx's hooks in a second V8 isolate,
 * with its own garbage collections on the same 2 cores).
 * `packageDir` (relative to the repository) puts the bundle in that package's dist/ instead, for code that finds
 * its files relative to its package (the proxy's static files, common/src/package-root.ts).
 */
export async function bundleEntry(name: string, packageDir?: string): Promise<string> {
  const outfile = packageDir
    ? join(benchRoot, '..', packageDir, 'dist', `bench-${name}.mjs`)
    : join(benchRoot, 'dist', `${name}.mjs`);
  mkdirSync(dirname(outfile), { recursive: true });
  await build({
    entryPoints: [join(benchRoot, 'src', `${name}.ts`)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    conditions: ['source'],
    logLevel: 'warning',
    banner: {
      js: 'import { createRequire as __bmcCreateRequire } from "node:module"; const require = __bmcCreateRequire(import.meta.url);',
    },
    plugins: [
      {
        // npm packages load from node_modules at run time, as in the shipped bundles; workspace code is inlined.
        name: 'external-npm',
        setup(b) {
          b.onResolve({ filter: /^[^./]/ }, (args) =>
            args.path.startsWith('@bmc-console/') || args.path.startsWith('node:')
              ? undefined
              : { path: args.path, external: true },
          );
        },
      },
    ],
  });
  return outfile;
}
