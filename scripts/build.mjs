#!/usr/bin/env node
// Bundles each program's CLI into one ESM file with esbuild. Workspace code (@bmc-console/*) is inlined
// from TypeScript source; npm dependencies stay external and load from node_modules at run time.
// `--out-dir DIR` writes DIR/<package>/dist/... instead (tests build there; DIR must be inside the repository so
// the bundles still find node_modules).
import { build } from 'esbuild';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outFlag = process.argv.indexOf('--out-dir');
const outRoot = outFlag >= 0 ? resolve(process.argv[outFlag + 1] ?? '') : root;
const programs = [
  { pkg: 'image', entry: 'src/cli.ts', out: 'dist/bmc-console.mjs' },
  { pkg: 'host-agent', entry: 'src/cli.ts', out: 'dist/bmc-console-agent.mjs' },
  { pkg: 'proxy', entry: 'src/cli.ts', out: 'dist/bmc-console-proxy.mjs' },
  { pkg: 'bmc-emulator', entry: 'src/cli.ts', out: 'dist/bmc-emulator.mjs' },
];

const manifest = (pkgDir) => JSON.parse(readFileSync(join(root, pkgDir, 'package.json'), 'utf8'));

/**
 * The shebang: node with the package's `bmcConsole.nodeFlags` (V8 sizes that must be set before the heap exists;
 * docs/proxy.md says why the proxy has one). The systemd unit repeats them; tests/e2e/deploy-files.test.ts checks.
 */
function shebang(pkgDir) {
  const flags = manifest(pkgDir).bmcConsole?.nodeFlags ?? [];
  return flags.length ? `#!/usr/bin/env -S node ${flags.join(' ')}` : '#!/usr/bin/env node';
}

function npmDependencies(pkgDir) {
  const names = new Set();
  for (const dir of [pkgDir, 'common']) {
    for (const name of Object.keys(manifest(dir).dependencies ?? {}))
      if (!name.startsWith('@bmc-console/')) names.add(name);
  }
  return [...names].flatMap((n) => [n, `${n}/*`]);
}

for (const p of programs) {
  const entry = join(root, p.pkg, p.entry);
  if (!existsSync(entry)) {
    console.log(`build: skip ${p.pkg} (no ${p.entry} yet)`);
    continue;
  }
  await build({
    entryPoints: [entry],
    outfile: join(outRoot, p.pkg, p.out),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    conditions: ['source'],
    external: npmDependencies(p.pkg),
    banner: {
      js: `${shebang(p.pkg)}\nimport { createRequire as __bmcCreateRequire } from "node:module"; const require = __bmcCreateRequire(import.meta.url);`,
    },
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  console.log(`build: ${join(outRoot, p.pkg, p.out).slice(root.length + 1)}`);
}
