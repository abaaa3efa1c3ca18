/** The proxy as its own process (its CLI from source), so its memory can be measured apart from the test runner. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

export interface ProxyProcess {
  url: string;
  pid: number;
  child: ChildProcess;
  /** Resident set size in KiB, from /proc. */
  rssKiB(): number;
  stop(): Promise<void>;
}

const root = new URL('../../..', import.meta.url).pathname;

export async function startProxyProcess(flags: string[], logFile: string): Promise<ProxyProcess> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', `${root}proxy/src/cli.ts`, '--host', '127.0.0.1', '--port', '0', ...flags], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_LEVEL: 'debug' },
  });
  const log = createWriteStream(logFile, { flags: 'a' });
  child.stderr!.pipe(log);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the proxy did not say ready within 60 s')), 60_000);
    child.once('exit', (code) => reject(new Error(`the proxy exited with ${code} before it was ready`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      log.write(`${line}\n`);
      try {
        const j = JSON.parse(line) as { event?: string; url?: string };
        if (j.event === 'ready' && j.url) {
          clearTimeout(timer);
          resolve(j.url);
        }
      } catch {
        /* a log line */
      }
    });
  });
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
      log.end();
    },
  };
}
