/**
 * `--version` on every program prints its package's version and exits 0: from the TypeScript source (tsx, as the
 * tests and the demo run them) and from fresh bundles made the way `npm run build` and the image build make them,
 * where the version is inlined at build time.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');

const programs = [
  { bin: 'bmc-console', pkg: 'image', out: 'dist/bmc-console.mjs' },
  { bin: 'bmc-console-agent', pkg: 'host-agent', out: 'dist/bmc-console-agent.mjs' },
  { bin: 'bmc-console-proxy', pkg: 'proxy', out: 'dist/bmc-console-proxy.mjs' },
  { bin: 'bmc-emulator', pkg: 'bmc-emulator', out: 'dist/bmc-emulator.mjs' },
] as const;

const versionOf = (pkg: string) =>
  (JSON.parse(readFileSync(join(root, pkg, 'package.json'), 'utf8')) as { version: string }).version;

async function version(args: string[]): Promise<{ stdout: string; code: number }> {
  try {
    const { stdout } = await run(process.execPath, args, { cwd: root, timeout: 30_000 });
    return { stdout, code: 0 };
  } catch (err) {
    const e = err as { stdout?: string; code?: number };
    return { stdout: e.stdout ?? '', code: typeof e.code === 'number' ? e.code : -1 };
  }
}

describe('--version', () => {
  // Inside the repository (.work/ is ignored by git), so the bundles find node_modules like the real ones do.
  let out: string;
  beforeAll(async () => {
    mkdirSync(join(root, '.work'), { recursive: true });
    out = mkdtempSync(join(root, '.work', 'versions-'));
    await run(process.execPath, [join(root, 'scripts', 'build.mjs'), '--out-dir', out], { cwd: root });
    await run(process.execPath, [join(root, 'image', 'build', 'bundle.mjs'), join(out, 'image-bundle')], { cwd: root });
  });
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  for (const p of programs) {
    it(`${p.bin} from source`, async () => {
      const r = await version([
        '--conditions=source',
        '--import',
        'tsx',
        join(root, p.pkg, 'src', 'cli.ts'),
        '--version',
      ]);
      expect(r).toEqual({ stdout: `${versionOf(p.pkg)}\n`, code: 0 });
    });

    it(`${p.bin} bundled by scripts/build.mjs`, async () => {
      const r = await version([join(out, p.pkg, p.out), '--version']);
      expect(r).toEqual({ stdout: `${versionOf(p.pkg)}\n`, code: 0 });
    });
  }

  // How the proxy runs as a command (npm's bin link, a container's entrypoint): its shebang carries its node flags.
  it('bmc-console-proxy run as a command: the shebang passes its node flags', async () => {
    const bundle = join(out, 'proxy', 'dist', 'bmc-console-proxy.mjs');
    const flags = (
      JSON.parse(readFileSync(join(root, 'proxy', 'package.json'), 'utf8')) as { bmcConsole: { nodeFlags: string[] } }
    ).bmcConsole.nodeFlags;
    expect(readFileSync(bundle, 'utf8').split('\n', 1)[0]).toBe(`#!/usr/bin/env -S node ${flags.join(' ')}`);
    chmodSync(bundle, 0o755);
    const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` };
    const { stdout } = await run(bundle, ['--version'], { cwd: root, env, timeout: 30_000 });
    expect(stdout).toBe(`${versionOf('proxy')}\n`);
  });

  it('bmc-console bundled for the image (image/build/bundle.mjs, code splitting)', async () => {
    const r = await version([join(out, 'image-bundle', 'bmc-console.mjs'), '--version']);
    expect(r).toEqual({ stdout: `${versionOf('image')}\n`, code: 0 });
  });
});
