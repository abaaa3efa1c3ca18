import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

const running = new Set<number>();
let cleanupInstalled = false;

/**
 * Remembers a process we started so that it is killed (by pid) if the benchmark dies before stopping it.
 * Node children also exit on their own when their stdin (a pipe from us) closes.
 */
export function track(pid: number): () => void {
  if (!cleanupInstalled) {
    cleanupInstalled = true;
    process.once('exit', () => {
      for (const p of running) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    });
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));
  }
  running.add(pid);
  return () => running.delete(pid);
}

/** For a child entry: exit when the parent's end of our stdin closes (the benchmark died). */
export function exitWithParent(): void {
  process.stdin.on('end', () => process.exit(0)).on('error', () => process.exit(0));
  process.stdin.resume();
}

export interface Child {
  pid: number;
  /** The JSON object the child printed as its first stdout line. */
  info: Record<string, unknown>;
  stop(): Promise<void>;
}

/**
 * Starts a node program that prints a JSON line with "benchReady": true (e.g. {"benchReady":true,"port":N}) when
 * ready. Its stderr goes to ours with a prefix so failures are visible; other stdout lines (logs) are discarded.
 */
export function startNodeChild(
  label: string,
  script: string,
  args: string[] = [],
  options: { nodeArgs?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<Child> {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), script, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: options.env ?? process.env,
  });
  return waitForJsonLine(label, child);
}

function waitForJsonLine(label: string, child: ChildProcess, timeoutMs = 30_000): Promise<Child> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const stderr = createInterface({ input: child.stderr! });
    stderr.on('line', (l) => process.stderr.write(`[${label}] ${l}\n`));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${label} did not report ready within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited before it was ready (code ${code}, signal ${signal})`));
    });
    let ready = false;
    lines.on('line', (line) => {
      if (ready || !line.includes('"benchReady":true')) return;
      ready = true;
      clearTimeout(timer);
      const info = JSON.parse(line) as Record<string, unknown>;
      const untrack = track(child.pid!);
      resolve({
        pid: child.pid!,
        info,
        stop: async () => {
          await stopChild(child);
          untrack();
        },
      });
    });
  });
}

/** SIGTERM, then SIGKILL after 5 s; resolves when the process has exited. */
export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
