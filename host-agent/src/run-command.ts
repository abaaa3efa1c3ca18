import { spawn } from 'node:child_process';

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

/** Runs a program without a shell and collects its output. Never rejects on a non-zero exit; only on spawn failure. */
export function runCommand(file: string, args: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env: { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: opts.timeoutMs ?? 120_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => reject(new Error(`cannot run ${file}: ${err.message}`)));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
    child.stdin.on('error', () => {}); // the child may exit before reading stdin
    child.stdin.end(opts.input ?? '');
  });
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
 * (the podman pool's claims opened ahead, podman-pool.ts). No timeout until finish(). Never rejects: a program that
 * cannot be run has exited with code 127.
 */
export function openCommand(file: string, args: readonly string[], opts: Omit<RunOptions, 'input' | 'timeoutMs'> = {}): OpenCommand {
  const child = spawn(file, args, { env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let exited = false;
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin.on('error', () => {}); // it may exit before reading stdin
  const done = new Promise<CommandResult>((resolve) => {
    child.on('error', (err) => {
      exited = true;
      resolve({ code: 127, stdout, stderr: `cannot run ${file}: ${err.message}` });
    });
    child.on('close', (code, signal) => {
      exited = true;
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
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
