/**
 * Node assignment for a console started with AWAIT_APP_INFO (a pooled console): `bmc-console assign` reads
 * the node's APP_INFO and VNC password on stdin (`podman exec -i`, so neither is ever in argv or the container's
 * environment) and hands them to the running supervisor over a unix socket that only the console's user can open.
 * One request, one JSON line each way. A node whose `verify_ca` names a CA bundle on the agent's host gets the bundle's
 * text in `caBundle` (a mount cannot be added to a running container); the console keeps it in a file of its own.
 */
import { chmodSync, rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { CONSOLE_DEFAULTS } from '@bmc-console/common/console-env';
import { checkAssignment, type Assignment } from '@bmc-console/common/contracts/assignment';

/** The contract itself is common's (contracts/assignment), shared with the agent that writes it. */
export { checkAssignment, type Assignment };

type Reply = { ok: true } | { error: string };

/** Largest request accepted: APP_INFO, a password and the largest CA bundle (JSON-escaped) fit. */
const MAX_REQUEST_BYTES = 2 * CONSOLE_DEFAULTS.assignCaBundleMaxBytes + 64 * 1024;

/**
 * Listens on `path` until closed. `handle` returns an error message (already free of secrets) or undefined when the
 * assignment was taken.
 */
export async function listenForAssignment(
  path: string,
  handle: (a: Assignment) => Promise<string | undefined>,
): Promise<Server> {
  rmSync(path, { force: true }); // a socket file left by an earlier run of this container
  const server = createServer((sock) => {
    let buf = '';
    const reply = (r: Reply) => sock.end(`${JSON.stringify(r)}\n`);
    sock.setEncoding('utf8');
    sock.on('error', () => undefined);
    sock.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_REQUEST_BYTES)
        return reply({ error: `the request is larger than ${MAX_REQUEST_BYTES} bytes` });
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      sock.removeAllListeners('data');
      let json: unknown;
      try {
        json = JSON.parse(buf.slice(0, nl));
      } catch {
        return reply({ error: 'the request is not valid JSON' }); // JSON.parse would quote it, password and all
      }
      const assignment = checkAssignment(json);
      if (typeof assignment === 'string') return reply({ error: assignment });
      handle(assignment).then(
        (error) => reply(error ? { error } : { ok: true }),
        (err: unknown) => reply({ error: `assignment failed: ${(err as Error).message}` }),
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  chmodSync(path, 0o600);
  return server;
}

/** Sends one assignment; resolves with the supervisor's answer. */
export function sendAssignment(path: string, assignment: Assignment, timeoutMs = 10_000): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer from the console at ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(`${JSON.stringify(assignment)}\n`));
    sock.on('data', (chunk: string) => (buf += chunk));
    sock.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        new Error(
          err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
            ? `no console waits for its node at ${path} (started without AWAIT_APP_INFO=1?)`
            : err.message,
        ),
      );
    });
    sock.on('end', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(buf) as Reply);
      } catch {
        reject(new Error(`the console answered ${JSON.stringify(buf.slice(0, 200))}`));
      }
    });
  });
}
