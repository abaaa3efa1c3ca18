#!/usr/bin/env node
// Stages the console image's build context: the bundled supervisor (bundle.mjs), the npm packages it loads at run time
// (copied from the repo's node_modules, so no registry is needed but npm's for Node itself), the Node 24
// binary, Chromium's managed policy and the Containerfile. Prints the hash of all inputs (the image is labelled with it to skip rebuilds).
// Usage: stage-context.mjs OUT_DIR NODE_BINARY
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
  copyFileSync,
  chmodSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const [out, nodeBinary] = process.argv.slice(2);
if (!out || !nodeBinary) {
  console.error('usage: stage-context.mjs OUT_DIR NODE_BINARY');
  process.exit(2);
}

const readJson = (p) => JSON.parse(readFileSync(p, 'utf8'));

/** Finds a package's directory the way Node does: nested node_modules first, then up to the repo root. */
function resolvePackage(name, fromDir) {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === root || dir === dirname(dir)) break;
  }
  throw new Error(
    `stage-context: cannot find the npm package ${name} (from ${relative(root, fromDir) || '.'}); run npm install`,
  );
}

// The runtime dependencies: what esbuild left external (the dependencies of image/ and common/), with theirs.
const wanted = new Set();
for (const pkg of ['image', 'common'])
  for (const n of Object.keys(readJson(join(root, pkg, 'package.json')).dependencies ?? {}))
    if (!n.startsWith('@bmc-console/')) wanted.add(n);
const copies = new Map(); // target path under node_modules -> source dir
function walk(name, fromDir, targetBase) {
  const src = resolvePackage(name, fromDir);
  // Keep the repo's layout: a hoisted package stays top-level, a nested one stays nested under its parent.
  const rel = relative(root, src);
  const target = rel.startsWith('node_modules/') ? rel : join(targetBase, 'node_modules', name);
  if (copies.has(target)) return;
  copies.set(target, src);
  const manifest = readJson(join(src, 'package.json'));
  for (const dep of Object.keys({ ...(manifest.dependencies ?? {}), ...(manifest.optionalDependencies ?? {}) })) {
    try {
      walk(dep, src, target);
    } catch (err) {
      if (!manifest.optionalDependencies?.[dep]) throw err;
    }
  }
}
for (const n of [...wanted].sort()) walk(n, join(root, 'image'), '');

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'app', 'dist'), { recursive: true });
for (const [target, src] of [...copies].sort())
  cpSync(src, join(out, 'app', target), { recursive: true, dereference: true });

// What node never reads at run time: type declarations, source maps, zod's TypeScript sources (exported only under
// its own "@zod/source" condition).
const appModules = join(out, 'app', 'node_modules');
for (const dir of ['zod/src']) rmSync(join(appModules, dir), { recursive: true, force: true });
(function prune(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) prune(p);
    else if (/\.d\.[cm]?ts$|\.map$/.test(e.name)) rmSync(p);
  }
})(appModules);

// The supervisor, bundled with code splitting for the image (bundle.mjs): commands and apps load on first use.
execFileSync(process.execPath, [join(root, 'image', 'build', 'bundle.mjs'), join(out, 'app', 'dist')], {
  stdio: ['ignore', 'ignore', 'inherit'],
});
writeFileSync(
  join(out, 'app', 'package.json'),
  `${JSON.stringify({ name: 'bmc-console', private: true, type: 'module', bin: { 'bmc-console': './dist/bmc-console.mjs' } }, null, 2)}\n`,
);
chmodSync(join(out, 'app', 'dist', 'bmc-console.mjs'), 0o755);
copyFileSync(nodeBinary, join(out, 'node'));
chmodSync(join(out, 'node'), 0o755);
copyFileSync(join(root, 'image', 'Containerfile'), join(out, 'Containerfile'));
// Chromium's managed policy, installed by the Containerfile under /etc/chromium/policies/managed.
mkdirSync(join(out, 'chromium-policy'));
copyFileSync(
  join(root, 'image', 'chromium-policy', 'bmc-console.json'),
  join(out, 'chromium-policy', 'bmc-console.json'),
);

// The library preloaded into x11vnc (image/x11vnc-preload/hooks.c), compiled with the host's C compiler:
// the host is Debian 12 like the image's base, so it links against the same glibc, and the image needs no compiler.
mkdirSync(join(out, 'x11vnc-preload'));
execFileSync(
  'cc',
  [
    '-shared',
    '-fPIC',
    '-O2',
    '-Wall',
    '-Wextra',
    '-Werror',
    '-o',
    join(out, 'x11vnc-preload', 'hooks.so'),
    join(root, 'image', 'x11vnc-preload', 'hooks.c'),
  ],
  { stdio: ['ignore', 'inherit', 'inherit'] },
);

// The hash of the context: every file's path and content.
const hash = createHash('sha256');
const files = [];
(function list(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) list(p);
    else files.push(p);
  }
})(out);
for (const f of files.sort()) {
  hash.update(`${relative(out, f)}\0${statSync(f).mode}\0`);
  hash.update(readFileSync(f));
}
console.error(
  `stage-context: ${copies.size} npm packages (${[...wanted].join(', ')} and their dependencies), ${files.length} files`,
);
console.log(hash.digest('hex'));
