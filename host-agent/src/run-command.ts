import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Extra environment for the child, merged over process.env; this is how secrets reach a CLI (never argv). */
  env?: Record<string, string | undefined>;
  input?: string;
  timeoutMs?: number;
}

/**
 * Collects a spawned child's output: resolves when it has closed, or with code 127 and `spawnError` when it could
 * not be run. Its stdin may close early (the child exits before reading it).
 */
function collect(child: ChildProcessWithoutNullStreams, file: string): Promise<CommandResult & { spawnError?: Error }> {
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin.on('error', () => {});
  return new Promise((resolve) => {
    child.on('error', (err) =>
      resolve({ code: 127, stdout, stderr: `cannot run ${file}: ${err.message}`, spawnError: err }),
    );
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
  });
}

/** Runs a program without a shell and collects its output. Never rejects on a non-zero exit; only on spawn failure. */
export async function runCommand(file: string, args: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
  const child = spawn(file, args, {
    env: { ...process.env, ...opts.env },
    stdio: ['pipe', 'pipe', 'pipe'],
    timeout: opts.timeoutMs ?? 120_000,
  });
  const result = collect(child, file);
  child.stdin.end(opts.input ?? '');
  const { spawnError, ...r } = await result;
  if (spawnError) throw new Error(`cannot run ${file}: ${spawnError.message}`);
  return r;
}

/** A command started now whose stdin comes later (see openCommand). */
export interface OpenCommand {
  /** Whether it has exited; then finish() only reports how it ended. */
  readonly exited: boolean;
  /** Resolves when it exits. */
  readonly done: Promise<CommandResult>;
  /** Writes `input` to its stdin, closes it, and resolves with its result; killed after `timeoutMs` from now. */
  finish(input: string, timeoutMs?: number): Promise<CommandResult>;
}

/**
 * Starts a program whose stdin is written later: its start-up cost is paid ahead, and the input reaches it at once
 * (the podman pool's claims opened ahead, providers/podman/pool.ts). No timeout until finish(). Never rejects: a
 * program that cannot be run has exited with code 127.
 */
export function openCommand(
  file: string,
  args: readonly string[],
  opts: Omit<RunOptions, 'input' | 'timeoutMs'> = {},
): OpenCommand {
  const child = spawn(file, args, { env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let exited = false;
  const done = collect(child, file).then(({ spawnError: _, ...r }) => {
    exited = true;
    return r;
  });
  return {
    get exited() {
      return exited;
    },
    done,
    finish(input, timeoutMs = 120_000) {
      if (!exited) {
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        void done.finally(() => clearTimeout(timer));
        child.stdin.end(input);
      }
      return done;
    },
  };
}
