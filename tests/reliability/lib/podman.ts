/** The podman CLI for the suite: inspect, logs and processes inside a console container (never host pkill). */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

// scripts/lib.sh exports this too; tests started by hand get it here.
process.env.CONTAINERS_CONF ??= new URL('../../../deploy/containers.conf', import.meta.url).pathname;

export async function podman(
  args: string[],
  opts: { env?: Record<string, string> } = {},
): Promise<{ stdout: string; stderr: string }> {
  return run('podman', args, { maxBuffer: 32 << 20, env: { ...process.env, ...opts.env } });
}

export async function podmanOk(args: string[]): Promise<boolean> {
  try {
    await podman(args);
    return true;
  } catch {
    return false;
  }
}

export const containerName = (node: string) => `bmc-console-${node}`;

export async function containerIdentity(name: string): Promise<{ id: string; startedAt: string }> {
  const { stdout } = await podman(['inspect', '--format', '{{.Id}} {{.State.StartedAt}}', name]);
  const [id = '', ...rest] = stdout.trim().split(' ');
  return { id, startedAt: rest.join(' ') };
}

/** pid and command line of every process in the container, from its own `ps`. */
export async function containerProcesses(name: string): Promise<{ pid: number; comm: string; args: string }[]> {
  const { stdout } = await podman(['exec', name, 'ps', '-eo', 'pid=,comm=,args=']);
  return stdout
    .split('\n')
    .map((l) => l.trim().match(/^(\d+)\s+(\S+)\s+(.*)$/))
    .filter((m): m is RegExpMatchArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), comm: m[2]!, args: m[3]! }));
}

/**
 * kill -9 of all `pids` at one moment; returns that moment (ms since the epoch, read inside the container just
 * before the kill: the container shares the host's clock), so podman exec's own start-up is not counted.
 */
export async function killAllInContainer(name: string, pids: number[]): Promise<number> {
  const { stdout } = await podman([
    'exec',
    name,
    'sh',
    '-c',
    'date +%s%3N; exec kill -9 "$@"',
    'sh',
    ...pids.map(String),
  ]);
  const at = Number(stdout.trim().split('\n')[0]);
  if (!Number.isFinite(at) || at <= 0) throw new Error(`no kill time from podman exec (got ${JSON.stringify(stdout)})`);
  return at;
}

export async function containerLogs(name: string, since?: string): Promise<string> {
  const { stdout, stderr } = await podman(['logs', ...(since ? ['--since', since] : []), name]);
  return stdout + stderr;
}
