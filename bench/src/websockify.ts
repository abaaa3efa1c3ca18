import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { stopChild, track, type Child } from './child-process.js';
import { processTree } from './process-memory.js';
import { freePort } from '@bmc-console/common/free-port';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/** True when /proc/net/tcp shows 127.0.0.1:<port> in LISTEN state; probing by connecting would fork a websockify handler. */
function listening(port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  return readFileSync('/proc/net/tcp', 'latin1')
    .split('\n')
    .some((l) => {
      const f = l.trim().split(/\s+/);
      return f[1] === `0100007F:${hex}` && f[3] === '0A';
    });
}

export function websockifyVersion(): string {
  try {
    const text = readFileSync('/usr/lib/python3/dist-packages/websockify-0.10.0.egg-info/PKG-INFO', 'utf8');
    return /^Version: (.+)$/m.exec(text)?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * Debian's websockify (python, one forked process per connection) relaying to 127.0.0.1:<targetPort>.
 * With `tls` it accepts TLS and plain connections on the same port (it sniffs the first byte).
 */
export async function startWebsockify(targetPort: number, tls?: TlsFiles): Promise<Child> {
  const port = await freePort();
  const args = [
    ...(tls ? ['--cert', tls.certFile, '--key', tls.keyFile] : []),
    `127.0.0.1:${port}`,
    `127.0.0.1:${targetPort}`,
  ];
  const child = spawn('websockify', args, { stdio: ['ignore', 'ignore', 'ignore'] });
  const untrack = track(child.pid!);
  let exited = false;
  child.once('exit', () => (exited = true));
  const deadline = Date.now() + 15_000;
  while (!listening(port)) {
    if (exited)
      throw new Error(`websockify exited at start (is the Debian package installed? args: ${args.join(' ')})`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`websockify did not listen on 127.0.0.1:${port} within 15 s`);
    }
    await sleep(50);
  }
  return {
    pid: child.pid!,
    info: { port },
    async stop() {
      // websockify terminates its handler processes on SIGTERM; kill leftovers of our own tree by pid.
      const tree = processTree(child.pid!).filter((p) => p !== child.pid);
      await stopChild(child);
      untrack();
      for (const pid of tree) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    },
  };
}
