/** KVM_RELEASE_AFTER parsing, and the viewer count read from the kernel's TCP tables and socket counts. */
import { describe, expect, it } from 'vitest';
import { ConsoleEnvError, parseConsoleEnv } from '@bmc-console/common/console-env';
import {
  establishedPeers,
  peersOnPort,
  portsThatSent,
  tcpOpens,
  tcpSocketsInUse,
} from 'bmc-console/supervisor/vnc-viewers';

describe('KVM_RELEASE_AFTER', () => {
  it('defaults to 60 s and accepts seconds or "always"', () => {
    expect(parseConsoleEnv({}).kvmReleaseAfter).toBe(60);
    expect(parseConsoleEnv({ KVM_RELEASE_AFTER: '0' }).kvmReleaseAfter).toBe(0);
    expect(parseConsoleEnv({ KVM_RELEASE_AFTER: 'always' }).kvmReleaseAfter).toBe('always');
  });
  it('names the variable when invalid', () => {
    expect(() => parseConsoleEnv({ KVM_RELEASE_AFTER: '-1' })).toThrow(ConsoleEnvError);
    expect(() => parseConsoleEnv({ KVM_RELEASE_AFTER: 'soon' })).toThrow(
      /KVM_RELEASE_AFTER: must be a whole number of seconds/,
    );
  });
});

describe('establishedPeers', () => {
  it('lists established connections to the port only', () => {
    const table = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:170C 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1',
      '   1: 0100007F:170C 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 2 1',
      '   2: 0100007F:9C40 0100007F:170C 01 00000000:00000000 00:00000000 00000000     0        0 3 1',
      '   3: 0100007F:170C 0100007F:9C41 06 00000000:00000000 00:00000000 00000000     0        0 4 1',
    ].join('\n');
    expect(establishedPeers(table, 5900)).toEqual(['0100007F:9C40']);
    expect(peersOnPort(table, 5900, 'listen')).toEqual(['00000000:0000']); // what the HEALTHCHECK looks for
  });
});

describe('tcpOpens', () => {
  const bytes = (text: string) => Buffer.from(text, 'latin1');
  const SNMP =
    'Ip: Forwarding DefaultTTL\nIp: 1 64\n' +
    'Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs\n' +
    'Tcp: 1 200 120000 -1 742469 699005 42643 24614 3 33882644\nUdp: InDatagrams\nUdp: 5\n';

  it('sums ActiveOpens and PassiveOpens of the Tcp values line (past MaxConn -1); -1 without one', () => {
    expect(tcpOpens(bytes(SNMP))).toBe(742469 + 699005);
    expect(tcpOpens(bytes('Ip: 1 64\nUdp: 5\n'))).toBe(-1);
  });

  it('grows when this namespace opens a connection, while the sockets in use can stay as they were', async () => {
    const { readFileSync } = await import('node:fs');
    const { createServer, connect } = await import('node:net');
    const before = tcpOpens(readFileSync('/proc/net/snmp'));
    const server = createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((r) =>
      connect(port, '127.0.0.1')
        .on('close', () => r())
        .on('error', () => r()),
    );
    server.close();
    // One connection: an active open (the client) and a passive one (the server) at least.
    expect(tcpOpens(readFileSync('/proc/net/snmp')) - before).toBeGreaterThanOrEqual(2);
  });
});

describe('tcpSocketsInUse', () => {
  it('reads the TCP sockets in use from /proc/net/sockstat and sockstat6', () => {
    const bytes = (text: string) => Buffer.from(text, 'latin1');
    expect(
      tcpSocketsInUse(bytes('sockets: used 8\nTCP: inuse 5 orphan 0 tw 3 alloc 6 mem 97\nUDP: inuse 0 mem 0\n')),
    ).toBe(5);
    expect(tcpSocketsInUse(bytes('TCP6: inuse 12\nUDP6: inuse 0\n'))).toBe(12);
    expect(tcpSocketsInUse(bytes(''))).toBe(0);
    expect(tcpSocketsInUse(bytes('sockets: used 8\nUDP: inuse 3 mem 0\n'))).toBe(0);
    // A "TCP" elsewhere than at a line's start is not the line.
    expect(tcpSocketsInUse(bytes('x TCP: inuse 9\nTCP: inuse 4 orphan 0\n'))).toBe(4);
  });

  it('reads only the first `length` bytes (the file re-read in place into a larger buffer)', () => {
    const buffer = Buffer.alloc(64, 'TCP: inuse 777777\n');
    buffer.write('TCP: inuse 31\n', 0, 'latin1');
    expect(tcpSocketsInUse(buffer, 13)).toBe(31);
    expect(tcpSocketsInUse(buffer, 12)).toBe(3);
  });

  it("re-reads this namespace's /proc/net/sockstat in place with what a fresh open reads", async () => {
    const { openSync, readFileSync, readSync, closeSync } = await import('node:fs');
    const { createServer } = await import('node:net');
    const fd = openSync('/proc/net/sockstat', 'r');
    const buffer = Buffer.alloc(512);
    const inPlace = () => tcpSocketsInUse(buffer, readSync(fd, buffer, 0, buffer.length, 0));
    const fresh = () => tcpSocketsInUse(readFileSync('/proc/net/sockstat'));
    const server = createServer();
    try {
      inPlace();
      // One more socket after the first read; other processes share the namespace, so agreeing reads are retried.
      server.listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      let agreed = false;
      for (let i = 0; i < 50 && !agreed; i++) {
        const a = inPlace();
        agreed = a === fresh() && a === inPlace();
      }
      expect(agreed).toBe(true);
    } finally {
      server.close();
      closeSync(fd);
    }
  });
});

describe('portsThatSent', () => {
  it('reads from `ss -tinH` which peers have sent bytes (a viewer), and which have not (a readiness probe)', () => {
    const out = [
      '0      0      127.0.0.1:5900 127.0.0.1:34980',
      '\t bbr wscale:10,10 rto:200 rtt:0.02/0.01 mss:32768 cwnd:10 segs_in:2 lastsnd:56 lastrcv:56 lastack:56 delivered:1',
      '0      0      10.0.2.100:5900 10.0.2.2:40000',
      '\t cubic wscale:7,7 rto:204 bytes_sent:14 bytes_acked:14 bytes_received:12 segs_out:3 segs_in:5',
      '0      0      [::1]:5900 [::1]:40001',
      '\t cubic bytes_received:0 segs_in:1',
      '',
    ].join('\n');
    expect([...portsThatSent(out)]).toEqual([40000]);
    expect(portsThatSent('').size).toBe(0);
  });
});
