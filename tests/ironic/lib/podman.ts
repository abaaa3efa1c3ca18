/** The podman CLI as the Ironic tests use it: the project's containers.conf, and small questions about containers. */
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const REPO_ROOT = join(import.meta.dirname, '..', '..', '..');

// The agent started in this process runs podman too, so the project's podman configuration goes into our own env.
process.env.CONTAINERS_CONF ??= join(REPO_ROOT, 'deploy', 'containers.conf');

const run = promisify(execFile);

/** Runs podman and returns its stdout; the error carries podman's stderr (our arguments never hold secrets). */
export async function podman(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<string> {
  const { stdout } = await run('podman', args, {
    env: opts.env ?? process.env,
    timeout: opts.timeoutMs ?? 120_000,
    maxBuffer: 16 << 20,
  });
  return stdout;
}

export function containerExists(name: string): boolean {
  try {
    execFileSync('podman', ['container', 'exists', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Removes a container of ours, whatever state it is in; a container that is not there is fine. */
export async function removeContainer(name: string): Promise<void> {
  await podman(['rm', '-f', '-t', '10', name]).catch(() => undefined);
}
