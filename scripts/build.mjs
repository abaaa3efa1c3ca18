#!/usr/bin/env node
// Bundles each program's CLI into one ESM file with esbuild. Workspace code (@bmc-console/*) is inlined
// from TypeScript source; npm dependencies stay external and load from node_modules at run time.
import { build } from 'esbuild';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const programs = [
  { pkg: 'image', entry: 'src/cli.ts', out: 'dist/bmc-console.mjs' },
  { pkg: 'host-agent', entry: 'src/cli.ts', out: 'dist/bmc-console-agent.mjs' },
  { pkg: 'proxy', entry: 'src/cli.ts', out: 'dist/bmc-console-proxy.mjs' },
  { pkg: 'bmc-emulator', entry: 'src/cli.ts', out: 'dist/bmc-emulator.mjs' },
];

function npmDependencies(pkgDir) {
  const names = new Set();
  for (const dir of [pkgDir, 'common']) {
    const manifest = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
    for (const name of Object.keys(manifest.dependencies ?? {})) if (!name.startsWith('@bmc-console/')) names.add(name);
  }
  return [...names].flatMap((n) => [n, `${n}/*`]);
}

for (const p of programs) {
  const entry = join(root, p.pkg, p.entry);
  if (!existsSync(entry)) { console.log(`build: skip ${p.pkg} (no ${p.entry} yet)`); continue; }
  await build({
    entryPoints: [entry],
    outfile: join(root, p.pkg, p.out),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['source'],
    external: npmDependencies(p.pkg),
    banner: { js: '#!/usr/bin/env node\nimport { createRequire as __bmcCreateRequire } from "node:module"; const require = __bmcCreateRequire(import.meta.url);' },
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  console.log(`build: ${p.pkg}/${p.out}`);
}
