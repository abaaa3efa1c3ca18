import { listenOnTempSocket } from './unix-socket-server.js';
import { createServer, type Server } from 'node:http';

/**
 * A tiny fake of the host agent's token endpoint for the benchmark: every (node, token) is valid and leads to
 * the benchmark console at 127.0.0.1:<targetPort> with its VNC password (as the real agent does, so the proxy runs
 * its security proxy). Runs in the benchmark process; only the proxy calls it.
 */
export interface AgentStandIn {
  url: string;
  /** How many verify calls the proxy made (first checks and periodic re-checks). */
  calls(): number;
  close(): Promise<void>;
}

export async function startAgentStandIn(targetPort: number, vncPassword: string): Promise<AgentStandIn> {
  let calls = 0;
  const server: Server = createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/v1/tokens/verify') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      calls++;
      let node = '';
      try {
        node = String((JSON.parse(body) as { node?: unknown }).node ?? '');
      } catch {
        // answered as unknown below
      }
      if (!node) {
        res.writeHead(403, { 'content-type': 'application/json' }).end('{"reason":"unknown"}');
        return;
      }
      const expiresAt = new Date(Date.now() + 3600_000).toISOString();
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ node, host: '127.0.0.1', port: targetPort, vncPassword, readOnly: false, expiresAt }));
    });
  });
  server.keepAliveTimeout = 60_000;
  // On a unix socket like the real agent's default: the proxy then needs no API key.
  const listening = await listenOnTempSocket(server, 'bench-agent-');
  return { ...listening, calls: () => calls };
}
