import { execFileSync } from 'node:child_process';
import { cpus, release, totalmem } from 'node:os';
import { websockifyVersion } from './websockify.js';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  websockify: string;
  python: string;
  podman: string;
  commit: string;
}

function run(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).trim();
  } catch {
    return 'unavailable';
  }
}

export function describeMachine(): Machine {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    kernel: release(),
    node: process.version,
    websockify: websockifyVersion(),
    python: run('python3', ['--version']).replace(/^Python /, ''),
    podman: run('podman', ['--version']).replace(/^podman version /, ''),
    commit: run('git', ['rev-parse', '--short', 'HEAD']),
  };
}
