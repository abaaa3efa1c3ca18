/**
 * IronicApi (lib/ironic-api.ts) against a local HTTP server that drops connections on purpose: a GET whose
 * connection closed with nothing sent is asked once more, a change is never sent twice, and failures name the call.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { IronicApi } from './lib/ironic-api.js';

let server: Server | undefined;

/** Serves `{"ok":true}`, but closes the first `drops` connections without an answer. */
async function flakyIronic(drops: number): Promise<{ api: IronicApi; seen: () => string[] }> {
  const seen: string[] = [];
  let left = drops;
  server = createServer((req: IncomingMessage, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (left-- > 0) return void req.socket.destroy();
    res.setHeader('content-type', 'application/json');
    res.end('{"ok":true}');
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { api: new IronicApi(`http://127.0.0.1:${port}`), seen: () => seen };
}

afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

describe('IronicApi.call', () => {
  it('asks a GET once more when the connection closed before any answer', async () => {
    const { api, seen } = await flakyIronic(1);
    await expect(api.call('GET', '/v1/nodes/n1')).resolves.toEqual({ ok: true });
    expect(seen()).toEqual(['GET /v1/nodes/n1', 'GET /v1/nodes/n1']);
  });

  it('names the call when the GET fails twice', async () => {
    const { api } = await flakyIronic(2);
    await expect(api.call('GET', '/v1/nodes/n1')).rejects.toThrow(
      /^Ironic GET \/v1\/nodes\/n1 \(asked twice\): fetch failed/,
    );
  });

  it('never sends a change twice', async () => {
    const { api, seen } = await flakyIronic(1);
    await expect(api.call('PUT', '/v1/nodes/n1/states/console', { enabled: true })).rejects.toThrow(
      /^Ironic PUT \/v1\/nodes\/n1\/states\/console: fetch failed/,
    );
    expect(seen()).toEqual(['PUT /v1/nodes/n1/states/console']);
  });
});
