import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '@bmc-console/common/log';

/**
 * A supervised child: spawned without a shell, its output logged at debug, its exit reported once.
 * stdio[3] may be a pipe (for Xvfb's -displayfd).
 */
export interface Child {
  name: string;
  proc: ChildProcess;
  pid: number;
  /** Resolves with the exit code (or signal name) when the process has exited. */
  exited: Promise<string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

export function spawnChild(name: string, command: string, args: string[], log: Logger, opts: { env?: NodeJS.ProcessEnv; extraPipe?: boolean } = {}): Child {
  const proc = spawn(command, args, {
    env: opts.env ?? process.env,
    stdio: opts.extraPipe ? ['ignore', 'pipe', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe'],
  });
  if (proc.pid === undefined) {
    // spawn failed synchronously (ENOENT is reported via 'error' below); keep the shape uniform.
  }
  const childLog = log.child({ child: name });
  for (const stream of [proc.stdout, proc.stderr]) {
    let rest = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) childLog.debug({ line }, 'output');
    });
  }
  const exited = new Promise<string>((resolve) => {
    proc.once('error', (err) => {
      childLog.error({ err: err.message }, `cannot start ${command}`);
      resolve('spawn-error');
    });
    proc.once('exit', (code, signal) => resolve(signal ?? String(code)));
  });
  const stop = async (graceMs = 2000): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  return { name, proc, pid: proc.pid ?? -1, exited, stop };
}
