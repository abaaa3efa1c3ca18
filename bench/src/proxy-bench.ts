/**
 * Proxy benchmarks: our proxy against Debian websockify and a raw TCP relay, all in the same run, on loopback,
 * each relaying to the same benchmark console (target-server.ts) in its own process.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { openSession, type BenchSession, type WsClient } from './bench-client.js';
import { bundleEntry } from './bundle.js';
import { startNodeChild, type Child } from './child-process.js';
import { treeCpuSeconds, treeMemory, type Memory } from './process-memory.js';
import type { RelayName, RelayUnderTest } from './relay.js';
import { median, percentile, round } from './stats.js';
import { selfSignedTls } from './tls-files.js';
import { startWebsockify, type TlsFiles } from './websockify.js';

interface ProxySizes {
  streamBytes: number;
  /** Single-stream rounds (each relay, each client): its spread between rounds is the widest, so it gets more. */
  streamRounds: number;
  rounds: number;
  /**
   * Round-trip sessions per relay: the p99 is a tail of a few dozen trips, and one slow session moved it by a
   * quarter between runs of the same code, so it gets more sessions than the TLS rounds.
   */
  roundTripRounds: number;
  roundTrips: number;
  idleSessions: number;
  concurrentStreams: number;
  concurrentTotalBytes: number;
  /** Interleaved rounds of the concurrent streams: one round's ratio moved between 1.24x and 1.52x across runs. */
  concurrentRounds: number;
}

const MiB = 1024 * 1024;
const WEBSOCKIFY_MAX_SESSIONS = 450;
const ROUND_TRIP_WARMUP = 6000;
const ROUND_TRIP_WARMUP_SESSIONS = 3;
/** Untimed trips at the start of every round-trip session (~0.15 s): see roundTrips(). */
export const SESSION_WARMUP_TRIPS = 1000;

function proxySizes(quick: boolean): ProxySizes {
  return quick
    ? {
        streamBytes: 32 * MiB,
        streamRounds: 2,
        rounds: 2,
        roundTripRounds: 2,
        roundTrips: 500,
        idleSessions: 200,
        concurrentStreams: 20,
        concurrentTotalBytes: 40 * MiB,
        concurrentRounds: 2,
      }
    : {
        streamBytes: 256 * MiB,
        streamRounds: 9,
        rounds: 3,
        roundTripRounds: 8,
        roundTrips: 2000,
        idleSessions: 1000,
        concurrentStreams: 20,
        concurrentTotalBytes: 250 * MiB,
        concurrentRounds: 5,
      };
}

/**
 * One stream through a relay read by one kind of client: every round, their median, and the CPU per GiB of the last
 * round in the relay's process tree and in the benchmark's own client and console (the whole pipeline's cost).
 */
export interface OneStreamResult {
  runsMiBs: number[];
  /** Median of the rounds, MiB/s. */
  mibs?: number;
  relayCpuPerGiB?: number;
  clientCpuPerGiB?: number;
  consoleCpuPerGiB?: number;
}

export interface RelayResult {
  /**
   * The single stream per client: `ws` (the raw relay's plain TCP client stands in for it) and, for the websocket
   * relays, the frame-level client (frame-client.ts), which costs less CPU than the relays, so the relay and not the
   * client sets the pace.
   */
  oneStream?: Partial<Record<WsClient, OneStreamResult>>;
  rttP50us?: number;
  rttP99us?: number;
  rttMaxus?: number;
  /** p99 over each round's first trips after its session opened (its untimed warm-up): information, not a target. */
  rttSessionStartP99us?: number;
  /** Median of the concurrent rounds, MiB/s over all streams. */
  concurrentMiBs?: number;
  concurrentRunsMiBs?: number[];
  /**
   * CPU seconds per second during the concurrent streams (last round): the relay's tree, the benchmark's client and
   * console.
   */
  concurrentCores?: { relay: number; client: number; console: number };
  tlsMiBs?: number;
  /** Relay CPU seconds per GiB with TLS (last round). */
  tlsCpuSecondsPerGiB?: number;
  tlsRunsMiBs?: number[];
  memory?: {
    sessions: number;
    before: Memory;
    after: Memory;
    perSessionPssKiB: number;
    perSessionRssKiB: number;
    retriedOpens: number;
  };
  errors?: string[];
}

export interface ProxyResults {
  sizes: ProxySizes;
  /** 1-minute load average when the part started and ended: other work on the machine skews absolute numbers. */
  loadAverage: { start: number; end: number };
  relays: Partial<Record<RelayName, RelayResult>>;
  notes: string[];
}

/** How our proxy is started; undefined while proxy/src/server.ts has not landed. */
export type StartOurs = (targetPort: number, vncPassword: string, tls?: TlsFiles) => Promise<RelayUnderTest>;

const log = (msg: string): void => void process.stderr.write(`bench: ${msg}\n`);

async function startTarget(vncPassword: string): Promise<Child> {
  return startNodeChild('console', await bundleEntry('target-server'), [], {
    env: { ...process.env, BENCH_VNC_PASSWORD: vncPassword },
  });
}

async function startRaw(targetPort: number, vncPassword: string): Promise<RelayUnderTest> {
  const child = await startNodeChild('raw-relay', await bundleEntry('raw-relay'), [String(targetPort)]);
  const port = child.info.port as number;
  return {
    name: 'raw TCP relay',
    pid: child.pid,
    endpoint: () => ({ kind: 'tcp', port, vncPassword }),
    stop: child.stop,
  };
}

async function startWs(targetPort: number, vncPassword: string, tls?: TlsFiles): Promise<RelayUnderTest> {
  const child = await startWebsockify(targetPort, tls);
  const url = `${tls ? 'wss' : 'ws'}://127.0.0.1:${child.info.port as number}/`;
  return { name: 'websockify', pid: child.pid, endpoint: () => ({ kind: 'ws', url, vncPassword }), stop: child.stop };
}

async function streamOnce(
  relay: RelayUnderTest,
  bytes: number,
  consolePid?: number,
  client: WsClient = 'ws',
): Promise<{ mibs: number; cpuPerGiB: number; clientCpuPerGiB: number; consoleCpuPerGiB: number }> {
  const s = await openSession(relay.endpoint(), undefined, client);
  try {
    await s.stream(32 * MiB); // warm-up: JIT, socket buffers
    const cpu0 = treeCpuSeconds(relay.pid);
    const console0 = consolePid ? treeCpuSeconds(consolePid) : 0;
    const client0 = process.cpuUsage();
    const secs = await s.stream(bytes);
    const client = process.cpuUsage(client0);
    const cpu = treeCpuSeconds(relay.pid) - cpu0;
    const gib = bytes / (1024 * MiB);
    return {
      mibs: bytes / MiB / secs,
      cpuPerGiB: cpu / gib,
      clientCpuPerGiB: (client.user + client.system) / 1e6 / gib,
      consoleCpuPerGiB: consolePid ? (treeCpuSeconds(consolePid) - console0) / gib : 0,
    };
  } finally {
    s.close();
  }
}

/**
 * One session: `warmUp` trips, then `count` timed ones. The first few hundred trips after a session opens are slower
 * through every relay when the machine sat idle just before (docs/benchmarks.md, what shaped the code), so the timed trips
 * start once that phase is over; the warm-up trips are returned too, for information.
 */
async function roundTrips(relay: RelayUnderTest, count: number): Promise<{ warmUp: number[]; timed: number[] }> {
  const s = await openSession(relay.endpoint());
  try {
    const warmUp = await s.roundTrips(Math.min(SESSION_WARMUP_TRIPS, count), 64);
    return { warmUp, timed: await s.roundTrips(count, 64) };
  } finally {
    s.close();
  }
}

/**
 * `streams` sessions streaming at once: MiB/s over all of them, and the cores that the relay's process tree, the
 * benchmark's own client (one process, one event loop) and its console kept busy meanwhile: which of them set the pace.
 */
interface ConcurrentResult {
  mibs: number;
  relayCores: number;
  clientCores: number;
  consoleCores: number;
}

async function concurrentStreams(
  relay: RelayUnderTest,
  streams: number,
  totalBytes: number,
  consolePid: number,
): Promise<ConcurrentResult> {
  const per = Math.floor(totalBytes / streams / (64 * 1024)) * 64 * 1024;
  const sessions = await Promise.all(Array.from({ length: streams }, () => openSession(relay.endpoint())));
  try {
    await Promise.all(sessions.map((s) => s.stream(1 * MiB)));
    const cpu0 = treeCpuSeconds(relay.pid);
    const console0 = treeCpuSeconds(consolePid);
    const client0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await Promise.all(sessions.map((s) => s.stream(per)));
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const client = process.cpuUsage(client0);
    return {
      mibs: (per * streams) / MiB / secs,
      relayCores: (treeCpuSeconds(relay.pid) - cpu0) / secs,
      clientCores: (client.user + client.system) / 1e6 / secs,
      consoleCores: (treeCpuSeconds(consolePid) - console0) / secs,
    };
  } finally {
    for (const s of sessions) s.close();
  }
}

/** Opens `count` idle sessions (each proven end to end by a ping), `parallel` at a time. */
let retries = 0;

async function openIdle(relay: RelayUnderTest, count: number, parallel = 10): Promise<BenchSession[]> {
  const out: BenchSession[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next++;
      // A session refused under load (websockify drops a handshake it does not see within 3 s) is retried:
      // this measures memory at N open sessions, not admission.
      for (let attempt = 1; ; attempt++) {
        try {
          const s = await openSession(relay.endpoint(), 60_000);
          out.push(s);
          await s.ping();
          break;
        } catch (err) {
          if (attempt >= 5) throw err;
          retries++;
          await sleep(200 * attempt);
        }
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: parallel }, worker));
  } catch (err) {
    for (const s of out) s.close();
    throw err;
  }
  return out;
}

/** Memory of the relay's process tree once it has settled (after a full GC where the relay supports one). */
async function settledMemory(relay: RelayUnderTest): Promise<Memory> {
  await sleep(1000);
  relay.collectGarbage?.();
  await sleep(1000);
  return treeMemory(relay.pid);
}

async function idleMemory(relay: RelayUnderTest, sessions: number): Promise<NonNullable<RelayResult['memory']>> {
  // One session first so that code paths are loaded and compiled; the difference is then per-session state.
  retries = 0;
  const first = await openIdle(relay, 1, 1);
  const before = await settledMemory(relay);
  const open = await openIdle(relay, sessions);
  open.push(...first);
  try {
    const after = await settledMemory(relay);
    return {
      sessions,
      before,
      after,
      perSessionPssKiB: round((after.pssKiB - before.pssKiB) / sessions, 1),
      perSessionRssKiB: round((after.rssKiB - before.rssKiB) / sessions, 1),
      retriedOpens: retries,
    };
  } finally {
    for (const s of open) s.close();
    await sleep(2000);
  }
}

async function attempt<T>(r: RelayResult, what: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    const msg = `${what}: ${(err as Error).message}`;
    log(`FAILED ${msg}`);
    (r.errors ??= []).push(msg);
    return undefined;
  }
}

export async function runProxyBench(quick: boolean, startOurs: StartOurs | undefined): Promise<ProxyResults> {
  const sizes = proxySizes(quick);
  const results: ProxyResults = {
    sizes,
    loadAverage: { start: round(loadavg()[0]!, 1), end: 0 },
    relays: {},
    notes: [],
  };
  if (!startOurs) results.notes.push('bmc-console-proxy: not measured (proxy/src/server.ts has not landed)');
  // The console's VNC password, as the agent would hand it to the proxy (a fresh one per run).
  const vncPassword = randomBytes(6).toString('hex');
  const target = await startTarget(vncPassword);
  const targetPort = target.info.port as number;
  const relays: RelayUnderTest[] = [];
  try {
    if (startOurs) relays.push(await startOurs(targetPort, vncPassword));
    relays.push(await startWs(targetPort, vncPassword));
    relays.push(await startRaw(targetPort, vncPassword));
    for (const relay of relays) results.relays[relay.name] = {};
    const res = (relay: RelayUnderTest): RelayResult => results.relays[relay.name]!;

    // The raw relay is reached over plain TCP: its one client already reads without framing.
    const streamClients = (relay: RelayUnderTest): WsClient[] =>
      relay.name === 'raw TCP relay' ? ['ws'] : ['ws', 'frames'];
    const clientName = (client: WsClient): string => (client === 'ws' ? 'ws' : 'frame-level');
    // Warm-up of each relay process (JIT, buffer pools, heap sizes): one untimed stream with each client. Without
    // it our proxy's CPU per GiB fell from ~1.8 s in its first 256 MiB to ~0.9 s after ~1 GiB.
    for (const relay of relays) {
      for (const client of streamClients(relay)) {
        log(`throughput warm-up: ${relay.name}, ${clientName(client)} client, ${sizes.streamBytes / MiB} MiB`);
        await attempt(res(relay), 'throughput warm-up', () => streamOnce(relay, sizes.streamBytes, undefined, client));
      }
    }
    // Single stream, interleaved rounds so drift on the machine hits every relay alike.
    for (let pass = 1; pass <= sizes.streamRounds; pass++) {
      for (const client of ['ws', 'frames'] as const) {
        for (const relay of relays) {
          if (!streamClients(relay).includes(client)) continue;
          log(
            `throughput round ${pass}/${sizes.streamRounds}, ${clientName(client)} client: ${relay.name}, ${sizes.streamBytes / MiB} MiB`,
          );
          const r = await attempt(res(relay), `throughput (${clientName(client)} client)`, () =>
            streamOnce(relay, sizes.streamBytes, target.pid, client),
          );
          if (!r) continue;
          const o = ((res(relay).oneStream ??= {})[client] ??= { runsMiBs: [] });
          o.runsMiBs.push(round2(r.mibs));
          o.mibs = round2(median(o.runsMiBs));
          o.relayCpuPerGiB = round(r.cpuPerGiB, 3);
          o.clientCpuPerGiB = round(r.clientCpuPerGiB, 3);
          o.consoleCpuPerGiB = round(r.consoleCpuPerGiB, 3);
        }
      }
    }

    // Round trips in interleaved rounds, each after a pause: right after the streams, the garbage they left in the
    // benchmark's own processes (client, console) is still being collected, and whichever relay came first paid
    // for it in its tail (p99 2-3 ms in the first second, ~0.3 ms later, for the same relay).
    // Each round's session: its first trips (untimed warm-up) and its timed trips.
    const sessions = new Map<RelayName, { warmUp: number[]; timed: number[] }[]>();
    // JIT warm-up of the round-trip path in every node process involved (our proxy, and the client and console that
    // all relays share): without it the first ~5000 trips have a p99 of 2-3 ms, then ~0.3 ms, and whichever relay
    // is measured first pays for everyone's warm-up.
    // In several sessions because a node relay's second session is slower than its first and third for all its
    // trips (p99 ~2 ms against ~0.3 ms; likely code re-optimised for a second session's objects): one long warm-up
    // session would leave that slow session to the first timed round.
    for (const relay of relays) {
      log(
        `round trips warm-up: ${relay.name}, ${ROUND_TRIP_WARMUP_SESSIONS} sessions x ${ROUND_TRIP_WARMUP / ROUND_TRIP_WARMUP_SESSIONS} trips`,
      );
      for (let k = 0; k < ROUND_TRIP_WARMUP_SESSIONS; k++)
        await attempt(res(relay), 'round trips', () =>
          roundTrips(relay, ROUND_TRIP_WARMUP / ROUND_TRIP_WARMUP_SESSIONS),
        );
    }
    for (let pass = 1; pass <= sizes.roundTripRounds; pass++) {
      for (const relay of relays) {
        await sleep(1000);
        log(`round trips ${pass}/${sizes.roundTripRounds}: ${relay.name}, ${sizes.roundTrips} x 64 bytes`);
        const rtt = await attempt(res(relay), 'round trips', () => roundTrips(relay, sizes.roundTrips));
        if (rtt) sessions.set(relay.name, [...(sessions.get(relay.name) ?? []), rtt]);
      }
    }
    for (const relay of relays) {
      const rounds = sessions.get(relay.name) ?? [];
      const rtt = rounds.flatMap((r) => r.timed);
      if (!rtt.length) continue;
      res(relay).rttP50us = round(percentile(rtt, 50), 1);
      res(relay).rttP99us = round(percentile(rtt, 99), 1);
      res(relay).rttMaxus = round(percentile(rtt, 100), 1);
      res(relay).rttSessionStartP99us = round(
        percentile(
          rounds.flatMap((r) => r.warmUp),
          99,
        ),
        1,
      );
    }

    for (let pass = 1; pass <= sizes.concurrentRounds; pass++) {
      for (const relay of relays) {
        log(
          `${sizes.concurrentStreams} concurrent streams ${pass}/${sizes.concurrentRounds}: ${relay.name}, ${sizes.concurrentTotalBytes / MiB} MiB in total`,
        );
        const c = await attempt(res(relay), 'concurrent streams', () =>
          concurrentStreams(relay, sizes.concurrentStreams, sizes.concurrentTotalBytes, target.pid),
        );
        if (c === undefined) continue;
        const r = res(relay);
        (r.concurrentRunsMiBs ??= []).push(round2(c.mibs));
        r.concurrentMiBs = round2(median(r.concurrentRunsMiBs));
        const cores = {
          relay: round(c.relayCores, 2),
          client: round(c.clientCores, 2),
          console: round(c.consoleCores, 2),
        };
        r.concurrentCores = cores;
        log(
          `${relay.name}: ${round2(c.mibs)} MiB/s; cores busy: relay ${cores.relay}, benchmark client ${cores.client}, ` +
            `benchmark console ${cores.console}`,
        );
      }
    }
  } finally {
    for (const relay of relays) await relay.stop();
    relays.length = 0;
  }

  // Memory per idle session, each proxy freshly started so earlier streams leave no heap behind. The raw relay
  // is left out: memory of a bare pipe says nothing about a proxy.
  for (const start of [startOurs, (port: number, pw: string) => startWs(port, pw)]) {
    if (!start) continue;
    const relay = await start(targetPort, vncPassword);
    try {
      // websockify 0.10 polls each connection with select(): once its listener holds ~1020 descriptors (a
      // multiprocessing sentinel per forked handler) new handlers get fds >= FD_SETSIZE and close at once; it
      // tops out near 508 sessions. Its per-session memory is measured at what it can hold.
      const sessions =
        relay.name === 'websockify' ? Math.min(sizes.idleSessions, WEBSOCKIFY_MAX_SESSIONS) : sizes.idleSessions;
      if (sessions < sizes.idleSessions)
        results.notes.push(
          `websockify: memory measured at ${sessions} sessions; websockify 0.10 cannot hold more than ~508 on one listener (select() and FD_SETSIZE 1024)`,
        );
      log(`memory: ${relay.name}, ${sessions} idle sessions`);
      const mem = await attempt(results.relays[relay.name]!, 'idle sessions', () => idleMemory(relay, sessions));
      if (mem) results.relays[relay.name]!.memory = mem;
    } finally {
      await relay.stop();
    }
  }

  // TLS: both proxies with the same self-signed certificate, single stream.
  const tls = await selfSignedTls();
  try {
    if (startOurs) relays.push(await startOurs(targetPort, vncPassword, tls));
    relays.push(await startWs(targetPort, vncPassword, tls));
    for (let pass = 1; pass <= sizes.rounds; pass++) {
      for (const relay of relays) {
        log(`TLS throughput round ${pass}/${sizes.rounds}: ${relay.name}`);
        const r = await attempt(results.relays[relay.name]!, 'TLS throughput', () =>
          streamOnce(relay, sizes.streamBytes),
        );
        if (r) {
          (results.relays[relay.name]!.tlsRunsMiBs ??= []).push(round2(r.mibs));
          results.relays[relay.name]!.tlsCpuSecondsPerGiB = round(r.cpuPerGiB, 3);
        }
      }
    }
    for (const relay of relays) {
      const runs = results.relays[relay.name]!.tlsRunsMiBs;
      if (runs?.length) results.relays[relay.name]!.tlsMiBs = round2(median(runs));
    }
  } finally {
    for (const relay of relays) await relay.stop();
    await target.stop();
  }
  results.loadAverage.end = round(loadavg()[0]!, 1);
  return results;
}

function round2(v: number): number {
  return round(v, 1);
}
