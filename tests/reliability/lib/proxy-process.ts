/** The proxy as its own process (its CLI from source), so its memory can be measured apart from the test runner. */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

export interface ProxyProcess {
  url: string;
  pid: number;
  child: ChildProcess;
  /** Resident set size in KiB, from /proc. */
  rssKiB(): number;
  stop(): Promise<void>;
}

const root = new URL('../../..', import.meta.url).pathname;

/**
 * The proxy's stdout and stderr go straight to `logFile` (as under a service manager), not through a pipe to the test
 * runner: a busy runner that reads a pipe slowly would leave the proxy buffering its own log lines, and that memory
 * would count as the proxy's.
 */
export async function startProxyProcess(flags: string[], logFile: string): Promise<ProxyProcess> {
  mkdirSync(dirname(logFile), { recursive: true });
  const fd = openSync(logFile, 'a');
  const startAt = statSync(logFile).size;
  const child = spawn(
    process.execPath,
    [
      '--conditions=source',
      '--import',
      'tsx',
      `${root}proxy/src/cli.ts`,
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      ...flags,
    ],
    {
      cwd: root,
      stdio: ['ignore', fd, fd],
      env: { ...process.env, LOG_LEVEL: 'debug' },
    },
  );
  closeSync(fd);
  let exitCode: number | null = null;
  child.once('exit', (code) => (exitCode = code ?? -1));
  const deadline = Date.now() + 60_000;
  let url: string | undefined;
  while (!url) {
    if (exitCode !== null) throw new Error(`the proxy exited with ${exitCode} before it was ready`);
    if (Date.now() > deadline) throw new Error('the proxy did not say ready within 60 s');
    await new Promise((r) => setTimeout(r, 100));
    for (const line of readFileSync(logFile, 'utf8').slice(startAt).split('\n')) {
      try {
        const j = JSON.parse(line) as { event?: string; url?: string };
        if (j.event === 'ready' && j.url) url = j.url;
      } catch {
        /* a log line */
      }
    }
  }
  const pid = child.pid!;
  return {
    url,
    pid,
    child,
    rssKiB: () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN),
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
