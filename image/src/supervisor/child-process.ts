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

/**
 * The only variables of the supervisor's environment that Xvfb, x11vnc and Chromium get: what they need to run, find
 * fonts and format text. Never APP_INFO, VNC_PASSWORD, their _FILE variants or anything else the console was given.
 */
export const CHILD_ENV_NAMES: readonly string[] = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'DISPLAY',
  'XAUTHORITY',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TMPDIR',
  'FONTCONFIG_FILE',
  'FONTCONFIG_PATH',
  'XDG_RUNTIME_DIR',
  'XDG_CONFIG_HOME',
  'XDG_CACHE_HOME',
  'XDG_DATA_HOME',
  'XDG_DATA_DIRS',
  'XDG_CONFIG_DIRS',
  'MALLOC_ARENA_MAX',
];
const CHILD_ENV_PREFIXES = ['LC_'];

/** The allow-listed part of `from` (the supervisor's environment by default), with `extra` over it. */
export function childEnvironment(
  extra: Record<string, string | undefined> = {},
  from: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(from))
    if (v !== undefined && (CHILD_ENV_NAMES.includes(k) || CHILD_ENV_PREFIXES.some((p) => k.startsWith(p)))) env[k] = v;
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

/** `opts.env`: variables the child needs beyond the allow-listed ones (childEnvironment). */
export function spawnChild(
  name: string,
  command: string,
  args: string[],
  log: Logger,
  opts: { env?: Record<string, string | undefined>; extraPipe?: boolean } = {},
): Child {
  const proc = spawn(command, args, {
    env: childEnvironment(opts.env),
    stdio: opts.extraPipe ? ['ignore', 'pipe', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe'],
  });
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
