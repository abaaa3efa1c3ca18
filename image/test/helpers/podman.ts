/** podman for image tests: the project's containers.conf, the image built once per test run. */
import { execFile, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './console-process.js';

export const IMAGE = process.env.BMC_CONSOLE_IMAGE ?? 'localhost/bmc-console:latest';
const podmanEnv = {
  ...process.env,
  CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? join(REPO_ROOT, 'deploy', 'containers.conf'),
};
const run = promisify(execFile);

export async function podman(...args: string[]): Promise<string> {
  const { stdout } = await run('podman', args, { env: podmanEnv, maxBuffer: 16 << 20 });
  return stdout.trim();
}

/** Why podman cannot be used here, or undefined when it can. */
export function podmanUnusable(): string | undefined {
  const r = spawnSync('podman', ['info', '--format', '{{.Host.OCIRuntime.Name}}'], {
    env: podmanEnv,
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (r.error) return `podman is not available: ${r.error.message}`;
  if (r.status !== 0) return `podman does not work here: ${(r.stderr || '').trim().split('\n')[0]}`;
  return undefined;
}

/** Builds the image with image/build/build-image.sh (which skips the build when nothing changed). */
export function buildImage(): void {
  if (process.env.BMC_CONSOLE_SKIP_IMAGE_BUILD === '1') return;
  const r = spawnSync('bash', [join(REPO_ROOT, 'image/build/build-image.sh')], {
    env: podmanEnv,
    encoding: 'utf8',
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: 15 * 60_000,
  });
  if (r.status !== 0) throw new Error(`image build failed (exit ${r.status})`);
}
