import { type AddressInfo, createServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';

export interface LoopbackBridge {
  port: number;
  close(): void;
}

/**
 * A loopback TCP port whose first connection is piped to `stream`: for TCP-only RFB clients (common's RfbClient)
 * over a direct KVM stream. Later connections are refused.
 */
export async function loopbackBridge(stream: Duplex): Promise<LoopbackBridge> {
  let sock: Socket | undefined;
  const server = createServer((s) => {
    if (sock) return void s.destroy();
    sock = s;
    s.on('error', () => stream.destroy());
    stream.on('error', () => s.destroy());
    s.pipe(stream).pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      server.close();
      sock?.destroy();
    },
  };
}
