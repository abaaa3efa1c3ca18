import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSession } from '../src/bench-client.js';
import { bundleEntry } from '../src/bundle.js';
import { startNodeChild, type Child } from '../src/child-process.js';
import { showsMarker } from '@bmc-console/bmc-emulator/marker';
import { processTree, treeMemory } from '../src/process-memory.js';
import { proxyTargets, renderGenerated, type BenchResults } from '../src/report.js';
import { percentile } from '../src/stats.js';

describe('bench statistics and report', () => {
  it('percentile is nearest-rank', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(v, 50)).toBe(50);
    expect(percentile(v, 99)).toBe(99);
    expect(percentile(v, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(() => percentile([], 50)).toThrow(/empty/);
  });

  it('finds the KVM marker colour only when enough pixels have it', () => {
    const frame = Buffer.alloc(100 * 100 * 4);
    expect(showsMarker(frame, { r: 0, g: 80, b: 255 })).toBe(false);
    for (let i = 0; i < 500 * 4; i += 4) frame.set([2, 78, 250, 255], i);
    expect(showsMarker(frame, { r: 0, g: 80, b: 255 })).toBe(true);
    expect(showsMarker(frame, { r: 255, g: 0, b: 0 })).toBe(false);
  });

  it('judges the targets from one run and renders them', () => {
    const relays = {
      'bmc-console-proxy': {
        oneStream: { ws: { runsMiBs: [300], mibs: 300 }, frames: { runsMiBs: [390], mibs: 390 } },
        concurrentMiBs: 500,
        rttP99us: 900,
        memory: {
          sessions: 1000,
          before: { pssKiB: 0, rssKiB: 0, processes: 1 },
          after: { pssKiB: 50_000, rssKiB: 60_000, processes: 1 },
          perSessionPssKiB: 50,
          perSessionRssKiB: 60,
          retriedOpens: 0,
        },
      },
      websockify: {
        oneStream: { ws: { runsMiBs: [200], mibs: 200 }, frames: { runsMiBs: [300], mibs: 300 } },
        concurrentMiBs: 450,
        rttP99us: 1000,
        memory: {
          sessions: 1000,
          before: { pssKiB: 0, rssKiB: 0, processes: 1 },
          after: { pssKiB: 3_000_000, rssKiB: 30_000_000, processes: 1001 },
          perSessionPssKiB: 3000,
          perSessionRssKiB: 30000,
          retriedOpens: 0,
        },
      },
    };
    const results: BenchResults = {
      machine: {
        cpu: 'test',
        cores: 2,
        memoryGiB: 1,
        kernel: 'k',
        node: 'v20',
        websockify: '0.10.0',
        python: '3',
        podman: '4',
        commit: 'abc',
      },
      date: { proxy: '2026-01-01T00:00:00Z' },
      quick: { proxy: true },
      proxy: {
        sizes: {
          streamBytes: 1 << 20,
          streamRounds: 1,
          rounds: 1,
          roundTripRounds: 1,
          roundTrips: 10,
          idleSessions: 1000,
          concurrentStreams: 20,
          concurrentTotalBytes: 20 << 20,
          concurrentRounds: 1,
        },
        loadAverage: { start: 0.1, end: 0.2 },
        relays,
        notes: [],
      },
    };
    // 1 stream frame-level 1.30x and ws 1.50x: met; 20 streams 1.11x: missed; p99 and memory: met.
    expect(proxyTargets(results.proxy).map((t) => t.met)).toEqual([true, true, false, true, true]);
    const md = renderGenerated(results);
    expect(md).toContain('| throughput, 1 stream (frame-level client) | >= 1.25x websockify | 1.30x | met |');
    expect(md).toContain(
      '| throughput, 20 concurrent streams (ws client) | >= 1.25x websockify | 1.11x | **missed** |',
    );
    expect(md).toContain('Console');
  });
});

describe('bench console, raw relay and client (real processes on loopback)', () => {
  const password = randomBytes(4).toString('hex');
  let target: Child;
  let relay: Child;

  beforeAll(async () => {
    target = await startNodeChild('console', await bundleEntry('target-server'), [], {
      env: { ...process.env, BENCH_VNC_PASSWORD: password },
    });
    relay = await startNodeChild('raw-relay', await bundleEntry('raw-relay'), [String(target.info.port)]);
  });
  afterAll(async () => {
    await relay?.stop();
    await target?.stop();
  });

  it('does the RFB handshake with VNC auth, streams exact byte counts, echoes and pings', async () => {
    const s = await openSession({ kind: 'tcp', port: relay.info.port as number, vncPassword: password });
    try {
      expect(await s.stream(1 << 20)).toBeGreaterThan(0);
      const rtt = await s.roundTrips(20, 64);
      expect(rtt).toHaveLength(20);
      await s.ping();
    } finally {
      s.close();
    }
  });

  it('refuses a wrong VNC password', async () => {
    await expect(
      openSession({ kind: 'tcp', port: relay.info.port as number, vncPassword: 'wrong' }, 5000),
    ).rejects.toThrow(/security result 1/);
  });

  it('sums memory over a process tree', () => {
    expect(processTree(process.pid)).toContain(target.pid);
    const m = treeMemory(target.pid);
    expect(m.processes).toBe(1);
    expect(m.pssKiB).toBeGreaterThan(0);
  });
});
