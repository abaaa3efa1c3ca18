/**
 * A plain node TCP relay for reference: TCP in, TCP out, stream pipe() without framing or inspection.
 * Runs as its own process like the proxies it is compared with; argv: <target port>.
 * Prints {"benchReady":true,"port":N} on stdout when listening.
 */
import { connect, createServer } from 'node:net';
import { serveAsBenchChild } from './serve-child.js';

const targetPort = Number(process.argv[2]);
if (!Number.isInteger(targetPort) || targetPort <= 0) {
  process.stderr.write(
    `raw-relay: argument 1 (target port) must be a TCP port, got ${JSON.stringify(process.argv[2])}\n`,
  );
  process.exit(2);
}

const server = createServer((client) => {
  client.setNoDelay(true);
  const target = connect({ host: '127.0.0.1', port: targetPort });
  target.setNoDelay(true);
  client.pipe(target);
  target.pipe(client);
  const end = (): void => {
    client.destroy();
    target.destroy();
  };
  client.on('error', end).on('close', end);
  target.on('error', end).on('close', end);
});
serveAsBenchChild(server);
