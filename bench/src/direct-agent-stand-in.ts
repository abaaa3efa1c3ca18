import { listenOnTempSocket } from './unix-socket-server.js';
import { createServer, type Server } from 'node:http';
import type { VerifyOk } from '@bmc-console/common/contracts/agent-api';
import type { DirectTarget } from '@bmc-console/common/contracts/direct-target';

/**
 * A fake of the host agent's token endpoint for the direct-console benchmark: a node registered with its BMC gets
 * a `direct` answer (the proxy logs in to that BMC itself), any token is valid for it, and an unregistered node is
 * refused. It holds BMC passwords, so it logs nothing; only the proxy calls it, on a unix socket.
 */
export interface DirectAgentStandIn {
  url: string;
  /** Registers (or replaces) the BMC that `node`'s console logs in to. */
  setDirect(node: string, target: DirectTarget): void;
  remove(node: string): void;
  close(): Promise<void>;
}

export async function startDirectAgentStandIn(): Promise<DirectAgentStandIn> {
  const targets = new Map<string, DirectTarget>();
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      let node = '';
      try {
        node = String((JSON.parse(body) as { node?: unknown }).node ?? '');
      } catch {
        // answered as unknown below
      }
      const direct = targets.get(node);
      if (req.method !== 'POST' || req.url !== '/v1/tokens/verify' || !direct) {
        res.writeHead(403, { 'content-type': 'application/json' }).end('{"reason":"unknown"}');
        return;
      }
      const answer: VerifyOk = {
        node,
        direct,
        readOnly: false,
        expiresAt: new Date(Date.now() + 3600_000).toISOString(),
        role: 'control',
        exclusive: false,
        record: false,
      };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
  });
  server.keepAliveTimeout = 60_000;
  // On a unix socket like the real agent's default: the proxy then needs no API key.
  const listening = await listenOnTempSocket(server, 'bench-direct-agent-');
  return {
    ...listening,
    setDirect: (node, target) => void targets.set(node, target),
    remove: (node) => void targets.delete(node),
  };
}
