/** The proxy as its own process (its CLI from source), so its memory can be measured apart from the test runner. */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { WebSocket } from 'ws';

export interface ProxyProcess {
  url: string;
  pid: number;
  child: ChildProcess;
  /** Resident set size in KiB, from /proc. */
  rssKiB(): number;
  /** V8 heap in use after a full collection, in KiB (through the inspector): what a leak of JS objects grows. */
  heapAfterGcKiB(): Promise<number>;
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
      // Loopback inspector on a free port so the test can force a full GC and read the heap (RSS alone moves with
      // V8's lazy heap sizing and says little about a leak over a few seconds).
      '--inspect=127.0.0.1:0',
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
  let inspector: string | undefined;
  while (!url || !inspector) {
    if (exitCode !== null) throw new Error(`the proxy exited with ${exitCode} before it was ready`);
    if (Date.now() > deadline) throw new Error('the proxy did not say ready within 60 s');
    await new Promise((r) => setTimeout(r, 100));
    for (const line of readFileSync(logFile, 'utf8').slice(startAt).split('\n')) {
      inspector ??= /^Debugger listening on (ws:\/\/\S+)/.exec(line)?.[1];
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
    heapAfterGcKiB: () => heapAfterGc(inspector!),
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** Two full collections (the second frees what the first's finalizers released), then V8's used heap size. */
async function heapAfterGc(inspectorUrl: string): Promise<number> {
  const ws = new WebSocket(inspectorUrl);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  let id = 0;
  const call = (method: string) =>
    new Promise<Record<string, unknown>>((resolve) => {
      const mine = ++id;
      const onMessage = (data: Buffer) => {
        const msg = JSON.parse(data.toString('utf8')) as { id?: number; result?: Record<string, unknown> };
        if (msg.id !== mine) return;
        ws.off('message', onMessage);
        resolve(msg.result ?? {});
      };
      ws.on('message', onMessage);
      ws.send(JSON.stringify({ id: mine, method }));
    });
  try {
    await call('HeapProfiler.collectGarbage');
    await call('HeapProfiler.collectGarbage');
    const usage = await call('Runtime.getHeapUsage');
    return Number(usage.usedSize) / 1024;
  } finally {
    ws.close();
  }
}
