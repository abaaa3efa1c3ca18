import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Serves `server` on a unix socket in a fresh temp dir, as the real agent's default (a proxy then needs no API key);
 * close() ends its connections and removes the dir. For the benchmark's stand-ins of the agent.
 */
export function listenOnTempSocket(server: Server, prefix: string): Promise<{ url: string; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const socket = join(dir, 'agent.sock');
  return new Promise((resolve) => {
    server.listen(socket, () =>
      resolve({
        url: `unix:${socket}`,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => {
              rmSync(dir, { recursive: true, force: true });
              r();
            });
          }),
      }),
    );
  });
}
