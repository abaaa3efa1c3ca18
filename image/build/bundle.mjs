#!/usr/bin/env node
// Bundles `bmc-console` for the image: like scripts/build.mjs (workspace code inlined from source, npm packages
// external), but with code splitting, so each command and what only it uses (the Redfish app for
// APP=redfish-graphical, the vendor scripts) sit in chunks loaded on first use.
// Usage: bundle.mjs OUT_DIR   (writes OUT_DIR/bmc-console.mjs and OUT_DIR/chunk-*.mjs)
import { build } from 'esbuild';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const [out] = process.argv.slice(2);
if (!out) {
  console.error('usage: bundle.mjs OUT_DIR');
  process.exit(2);
}
const external = new Set();
for (const dir of ['image', 'common']) {
  const manifest = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
  for (const name of Object.keys(manifest.dependencies ?? {}))
    if (!name.startsWith('@bmc-console/')) external.add(name);
}
await build({
  entryPoints: { 'bmc-console': join(root, 'image', 'src', 'cli.ts') },
  outdir: out,
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunk-[hash]',
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  conditions: ['source'],
  external: [...external].flatMap((n) => [n, `${n}/*`]),
  banner: {
    js: 'import { createRequire as __bmcCreateRequire } from "node:module"; const require = __bmcCreateRequire(import.meta.url);',
  },
  sourcemap: 'linked',
  logLevel: 'warning',
});
// The entry is the image's bin (/usr/local/bin/bmc-console links to it). V8's --optimize-for-size (not allowed in
// NODE_OPTIONS, hence here): a supervisor watched for an hour kept its anon memory at 52-53 MiB instead of growing
// to 62 (V8 grew its heap lazily; the live heap stayed flat). The Containerfile writes the compile cache with the
// same flag, since V8 rejects a code cache made under other flags.
const entry = join(out, 'bmc-console.mjs');
writeFileSync(entry, `#!/usr/bin/env -S node --optimize-for-size\n${readFileSync(entry, 'utf8')}`);
chmodSync(entry, 0o755);
