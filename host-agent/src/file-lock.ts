import { open, readFile, rm } from 'node:fs/promises';

const inProcess = new Map<string, Promise<unknown>>();

/**
 * Serialises `fn` per lock path: an in-process async mutex (cheap, ordered) plus a lock file created with O_EXCL
 * for other processes (a CLI `stop` while `serve` starts the same node). A lock file whose pid is gone is stale.
 */
export async function withLock<T>(path: string, fn: () => Promise<T>, timeoutMs = 300_000): Promise<T> {
  const previous = inProcess.get(path) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((r) => (release = r));
  const chained = previous.then(() => mine);
  inProcess.set(path, chained);
  try {
    await previous.catch(() => {});
    await acquireFile(path, timeoutMs);
    try {
      return await fn();
    } finally {
      await rm(path, { force: true });
    }
  } finally {
    release();
    if (inProcess.get(path) === chained) inProcess.delete(path);
  }
}

async function acquireFile(path: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let emptySince: number | undefined;
  for (let delay = 10; ; delay = Math.min(delay * 2, 200)) {
    try {
      const fh = await open(path, 'wx', 0o600);
      await fh.writeFile(String(process.pid));
      await fh.close();
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(holder) && holder > 0) {
      emptySince = undefined;
      if (!alive(holder)) await rm(path, { force: true }); // stale: its process is gone
    } else {
      // Empty: the holder may be between open and write; only a lasting empty file is stale.
      emptySince ??= Date.now();
      if (Date.now() - emptySince > 2000) await rm(path, { force: true });
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for lock ${path} (held by pid ${holder || 'unknown'})`);
    await new Promise((r) => setTimeout(r, delay));
  }
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
