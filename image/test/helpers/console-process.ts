/**
 * Runs `bmc-console run` from source on the host (no container) on a free VNC port, and reads its state
 * file (child pids, display) so tests can kill children by pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SupervisorState } from 'bmc-console/supervisor/supervisor';
import { freePort } from '@bmc-console/common/free-port';

export const REPO_ROOT = join(import.meta.dirname, '..', '..', '..');

export interface ConsoleProcess {
  port: number;
  proc: ChildProcess;
  /** Everything the supervisor logged (pino JSON lines) and wrote to stderr. */
  output(): string;
  state(): SupervisorState | undefined;
  /** Polls the state file until `pred` holds. */
  waitForState(pred: (s: SupervisorState) => boolean, timeoutMs?: number): Promise<SupervisorState>;
  /** Polls the output until it matches. */
  waitForOutput(re: RegExp, timeoutMs?: number): Promise<void>;
  /** SIGTERM; resolves with the exit code and how long the exit took. */
  stop(): Promise<{ code: number | null; ms: number }>;
}

export async function startConsole(env: Record<string, string>): Promise<ConsoleProcess> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bmc-console-test-'));
  const stateFile = join(dir, 'state.json');
  const proc = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', join(REPO_ROOT, 'image/src/cli.ts'), 'run'],
    {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/root',
        // Root on the test host cannot use Chromium's sandbox; the image runs as a user with it on.
        CHROMIUM_SANDBOX: process.getuid?.() === 0 ? '0' : '1',
        VNC_PORT: String(port),
        BMC_CONSOLE_STATE_FILE: stateFile,
        LOG_LEVEL: 'debug',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const state = (): SupervisorState | undefined => {
    try {
      return JSON.parse(readFileSync(stateFile, 'utf8')) as SupervisorState;
    } catch {
      return undefined;
    }
  };
  return {
    port,
    proc,
    output: () => out,
    state,
    async waitForState(pred, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const s = state();
        if (s && pred(s)) return s;
        if (proc.exitCode !== null) throw new Error(`the console exited (${proc.exitCode}):\n${out.slice(-3000)}`);
        if (Date.now() > deadline)
          throw new Error(`state not reached within ${timeoutMs} ms: ${JSON.stringify(s)}\n${out.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async waitForOutput(re, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (!re.test(out)) {
        if (proc.exitCode !== null)
          throw new Error(`the console exited (${proc.exitCode}) before logging ${re}:\n${out.slice(-3000)}`);
        if (Date.now() > deadline) throw new Error(`${re} not logged within ${timeoutMs} ms:\n${out.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      const t0 = Date.now();
      if (proc.exitCode === null) proc.kill('SIGTERM');
      const code = await exited;
      rmSync(dir, { recursive: true, force: true });
      return { code, ms: Date.now() - t0 };
    },
  };
}

/** True while a process with this pid exists. */
export function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
