import { describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { parsePodmanPort, pickFreePort } from '../src/providers/podman/port.js';
import { parsePs } from '../src/providers/podman/provider.js';
import { parsePoolPs } from '../src/providers/podman/pool.js';

describe('podman port parsing', () => {
  it('reads IPv4, IPv6 (bracketed or not), several lines and the "5900/tcp ->" form', () => {
    expect(parsePodmanPort('127.0.0.1:41234\n')).toEqual({ host: '127.0.0.1', port: 41234 });
    expect(parsePodmanPort('[::1]:41235\n127.0.0.1:41234\n')).toEqual({ host: '127.0.0.1', port: 41234 });
    expect(parsePodmanPort('::1:41235\n')).toEqual({ host: '::1', port: 41235 });
    expect(parsePodmanPort('5900/tcp -> 0.0.0.0:40000\n5900/tcp -> [::]:40000\n', '192.0.2.10')).toEqual({
      host: '192.0.2.10',
      port: 40000,
    });
    expect(parsePodmanPort('')).toBeUndefined();
    expect(parsePodmanPort('Error: no such container')).toBeUndefined();
  });

  it('picks a port that is free to listen on', async () => {
    const port = await pickFreePort('127.0.0.1');
    expect(port).toBeGreaterThan(0);
    const server = createServer();
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('reads podman (array) and docker (lines) ps JSON', () => {
    const podman = JSON.stringify([
      { Names: ['bmc-console-a'], State: 'running', Labels: { 'io.bmc-console.node': 'a' } },
      { Names: ['other'], State: 'running', Labels: null },
    ]);
    expect(parsePs(podman)).toEqual([{ node: 'a', name: 'bmc-console-a', running: true }]);
    const docker = `${JSON.stringify({ Names: 'bmc-console-b', State: 'exited', Labels: 'io.bmc-console.console=true,io.bmc-console.node=b' })}\n`;
    expect(parsePs(docker)).toEqual([{ node: 'b', name: 'bmc-console-b', running: false }]);
  });

  it('knows a taken pooled console by its name (it has no node label) and lists unclaimed ones oldest first', () => {
    const pool = { 'io.bmc-console.pool': 'h', 'io.bmc-console.agent': 'h', 'io.bmc-console.port': '41000' };
    const rows = JSON.stringify([
      { Names: ['bmc-console--pool-0b'], State: 'running', Created: 200, Labels: pool, ImageID: 'abc' },
      {
        Names: ['bmc-console--pool-0a'],
        State: 'running',
        Created: 100,
        Labels: { ...pool, 'io.bmc-console.port': '41001' },
      },
      { Names: ['bmc-console--pool-0c'], State: 'exited', Created: 50, Labels: pool },
      { Names: ['bmc-console-node-7'], State: 'running', Created: 10, Labels: pool },
    ]);
    expect(parsePs(rows)).toEqual([{ node: 'node-7', name: 'bmc-console-node-7', running: true }]);
    expect(parsePoolPs(rows, '127.0.0.1')).toEqual([
      { name: 'bmc-console--pool-0a', created: 100, endpoint: { host: '127.0.0.1', port: 41001 } },
      { name: 'bmc-console--pool-0b', created: 200, imageId: 'abc', endpoint: { host: '127.0.0.1', port: 41000 } },
    ]);
    // A remote engine's pooled console has no port label: the claim asks `podman port`.
    expect(
      parsePoolPs(
        JSON.stringify([
          { Names: ['bmc-console--pool-0d'], State: 'running', Created: 1, Labels: { 'io.bmc-console.pool': 'h' } },
        ]),
        '127.0.0.1',
      ),
    ).toEqual([{ name: 'bmc-console--pool-0d', created: 1 }]);
  });
});
