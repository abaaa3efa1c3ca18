/**
 * Counts the VNC viewers connected to x11vnc by reading the kernel's TCP tables (/proc/net/tcp, tcp6) of our
 * network namespace: established connections whose local port is the VNC port. This needs no x11vnc hooks
 * (which run shell commands per client) and sees viewers through any proxy or port publishing.
 * A connection counts once it has lasted two polls, so readiness probes (connect, read the greeting, close)
 * do not log in to the BMC.
 * The tables are read only when the namespace's count of TCP sockets in use (/proc/net/sockstat, a few counters)
 * has changed, while a connection waits for its second poll, and once every 2 s: the kernel builds /proc/net/tcp
 * by walking every TCP socket of the machine, not just ours, and reading it ten times a second was most of an idle
 * console supervisor's CPU (docs/benchmarks.md, console findings).
 */
import { readFileSync } from 'node:fs';

/** TCP states as the kernel's tables write them. */
const TCP_STATE = { established: '01', listen: '0A' } as const;
export const TCP_TABLES = ['/proc/net/tcp', '/proc/net/tcp6'];
export const SOCKSTAT_FILES = ['/proc/net/sockstat', '/proc/net/sockstat6'];
/** Reads of the tables at the latest, in polls, whatever the socket counts say (a safety net). */
const FULL_READ_EVERY = 20;

/** The TCP sockets in use, from /proc/net/sockstat ("TCP: inuse 5 ...") or sockstat6 ("TCP6: inuse 2"). */
export function tcpSocketsInUse(sockstat: string): number {
  const m = /^TCP6?: inuse (\d+)/m.exec(sockstat);
  return m ? Number(m[1]) : 0;
}

/** A file of /proc as text; '' when this namespace has none (no IPv6). */
export function readProc(path: string): string {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return '';
  }
}

/** The remote ends ("addr:port" in the kernel's hex) of sockets on local `port` in `state`. */
export function peersOnPort(table: string, port: number, state: keyof typeof TCP_STATE): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const peers: string[] = [];
  for (const line of table.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    const local = f[1];
    const remote = f[2];
    if (!local || !remote || f[3] !== TCP_STATE[state]) continue;
    if (local.slice(local.lastIndexOf(':') + 1) === hexPort) peers.push(remote);
  }
  return peers;
}

/** The remote ends of established connections to `port`. */
export function establishedPeers(table: string, port: number): string[] {
  return peersOnPort(table, port, 'established');
}

export class VncViewers {
  private timer: NodeJS.Timeout | undefined;
  private seen = new Set<string>();
  private count = 0;
  private socketsInUse = -1;
  private pollsSinceRead = 0;

  constructor(
    private readonly port: number,
    private readonly onChange: (viewers: number) => void,
    /** Local ports of the supervisor's own readiness probes (they are not viewers). */
    private readonly ownPorts: ReadonlySet<number> = new Set(),
    private readonly intervalMs = 100,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => this.poll(), this.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private poll(): void {
    const inUse = SOCKSTAT_FILES.reduce((n, f) => n + tcpSocketsInUse(readProc(f)), 0);
    // Nothing opened or closed, no connection waiting to count, and a recent read: the tables say what they said.
    const waiting = this.seen.size > this.count;
    if (inUse === this.socketsInUse && !waiting && ++this.pollsSinceRead < FULL_READ_EVERY) return;
    this.socketsInUse = inUse;
    this.pollsSinceRead = 0;
    const now = new Set<string>();
    for (const t of TCP_TABLES) {
      for (const p of establishedPeers(readProc(t), this.port)) if (!this.ownPorts.has(parseInt(p.slice(p.lastIndexOf(':') + 1), 16))) now.add(p);
    }
    let lasting = 0;
    for (const p of now) if (this.seen.has(p)) lasting++;
    this.seen = now;
    if (lasting !== this.count) {
      this.count = lasting;
      if (this.timer) this.onChange(lasting);
    }
  }
}
