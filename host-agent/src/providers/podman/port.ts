import { createServer, type AddressInfo } from 'node:net';
import type { ConsoleEndpoint } from '../provider.js';

/**
 * Parses `podman port NAME 5900/tcp` (or docker's): one `host:port` per line, IPv4 or IPv6 (bracketed or not),
 * optionally prefixed by `5900/tcp -> `. Prefers the first IPv4 binding; a wildcard (0.0.0.0, ::) becomes `wildcardHost`.
 */
export function parsePodmanPort(output: string, wildcardHost = '127.0.0.1'): ConsoleEndpoint | undefined {
  const bindings: ConsoleEndpoint[] = [];
  for (const raw of output.split('\n')) {
    const line = raw.replace(/^\s*\d+\/(tcp|udp)\s*->\s*/, '').trim();
    if (!line) continue;
    const m = /^\[?([0-9A-Fa-f:.%a-z]*?)\]?:(\d{1,5})$/.exec(line);
    if (!m) continue;
    const port = Number(m[2]);
    if (port < 1 || port > 65535) continue;
    let host = m[1] ?? '';
    if (host === '' || host === '0.0.0.0' || host === '::') host = wildcardHost;
    bindings.push({ host, port });
  }
  return bindings.find((b) => !b.host.includes(':')) ?? bindings[0];
}

/**
 * A port that is free on `address` now, chosen by the kernel as for any listener. The engine binds it a moment
 * later; if something else took it meanwhile, its run fails with "address already in use" and the caller picks again.
 */
export async function pickFreePort(address: string): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, address, resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The engine's message when a published host port is taken (podman: "address already in use", docker: "port is already allocated"). */
export const PORT_TAKEN = /address already in use|port is already allocated/i;
