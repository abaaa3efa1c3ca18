/**
 * The child side of startNodeChild (child-process.ts) for a benchmark TCP server running as its own process: listen on
 * a free loopback port, report it as {"benchReady":true,"port":N}, and exit on SIGTERM or when the benchmark dies.
 */
import type { Server } from 'node:net';
import { exitWithParent } from './child-process.js';

export function serveAsBenchChild(server: Server): void {
  server.maxConnections = 100_000;
  server.listen(0, '127.0.0.1', () => {
    const addr = server.address();
    if (addr && typeof addr === 'object')
      process.stdout.write(`${JSON.stringify({ benchReady: true, port: addr.port })}\n`);
  });
  process.on('SIGTERM', () => process.exit(0));
  exitWithParent();
}
