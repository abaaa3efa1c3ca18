/**
 * Without x11vnc's preload (a console run on a host; the image reports viewers itself, x11vnc-viewers.ts):
 * counts the VNC viewers connected to x11vnc by reading the kernel's TCP tables (/proc/net/tcp, tcp6) of our
 * network namespace: established connections whose local port is the VNC port. This needs no x11vnc hooks
 * (which run shell commands per client) and sees viewers through any proxy or port publishing.
 * A connection counts once the client has sent bytes (its RFB version, right after the greeting), as `ss` reads
 * from the kernel (tcp_info bytes_received): readiness probes (connect, read the greeting, close) send nothing, so
 * they never log in to the BMC. Counting by time alone would let most probes log in: x11vnc greets a new client
 * 0.1-0.3 s after its connect, while nobody is connected, which outlasts two polls.
 * Without `ss` (not installed, or failing) a connection counts once it has lasted two polls.
 * A table is read only when its family's count of TCP sockets in use (/proc/net/sockstat or sockstat6) or the
 * namespace's count of TCP connections opened either way (/proc/net/snmp ActiveOpens + PassiveOpens) has changed, and
 * once every 30 s; a connection waiting to count is asked about with `ss`, from the peers of the last read. The
 * kernel builds /proc/net/tcp by walking the machine's whole TCP hash table, not just our sockets, which costs
 * milliseconds of CPU per read (docs/benchmarks.md). The opens catch a viewer arriving as another connection closes
 * (a pooled console's old Chromium going as the viewer comes), which leaves the sockets in use as they were and was
 * counted only by the 30 s read.
 * The counter files are read 30 times a second for as long as the console runs, so they stay open and are re-read
 * in place (pread at 0 makes the kernel write them anew) into one buffer each, parsed without making strings: read
 * with readFileSync they were half of the supervisor's allocations in a watched console, and each young-generation
 * GC they caused was followed by a full one under --optimize-for-size (bench/notes/lab-notes.md, 2026-12-06).
 */
import { execFile } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';

/** TCP states as the kernel's tables write them. */
const TCP_STATE = { established: '01', listen: '0A' } as const;
export const TCP_TABLES = ['/proc/net/tcp', '/proc/net/tcp6'];
export const SOCKSTAT_FILES = ['/proc/net/sockstat', '/proc/net/sockstat6'];
export const SNMP_FILE = '/proc/net/snmp';
/** The poll interval while a connection waits to count, for the first WAITING_FAST_FOR_MS of the wait. */
const WAITING_POLL_MS = 25;
/**
 * A viewer sends within ~0.3 s of its connect. A connection silent for longer (a hung client) is asked about once a
 * second: each `ss` run costs the supervisor milliseconds of CPU, and the tables are read for each, so asking at
 * every poll about a socket left silent would cost several times more than asking once a second.
 */
const WAITING_FAST_FOR_MS = 1000;
const SILENT_ASK_EVERY_MS = 1000;
/** Reads of the tables at the latest, in polls, whatever the socket counts say (a safety net). */
const FULL_READ_EVERY = 300;

const ASCII = { newline: 0x0a, space: 0x20, minus: 0x2d, zero: 0x30, six: 0x36, nine: 0x39 } as const;
const TCP_LINE = Buffer.from('TCP');
const TCP_SNMP = Buffer.from('Tcp:');
const INUSE = Buffer.from(': inuse ');

/**
 * The TCP sockets in use, from the first `length` bytes of /proc/net/sockstat ("TCP: inuse 5 ...") or sockstat6
 * ("TCP6: inuse 2"); 0 without such a line. Bytes, not text: it runs 20 times a second and allocates nothing.
 */
export function tcpSocketsInUse(sockstat: Uint8Array, length = sockstat.length): number {
  for (let line = 0; line < length; ) {
    let at = line;
    if (startsWith(sockstat, at, TCP_LINE)) {
      at += TCP_LINE.length;
      if (sockstat[at] === ASCII.six) at++; // TCP6
      if (startsWith(sockstat, at, INUSE)) {
        let n = 0;
        for (at += INUSE.length; at < length && sockstat[at]! >= ASCII.zero && sockstat[at]! <= ASCII.nine; at++)
          n = n * 10 + sockstat[at]! - ASCII.zero;
        return n;
      }
    }
    while (line < length && sockstat[line] !== ASCII.newline) line++;
    line++;
  }
  return 0;
}

function startsWith(bytes: Uint8Array, at: number, prefix: Uint8Array): boolean {
  for (let i = 0; i < prefix.length; i++) if (bytes[at + i] !== prefix[i]) return false;
  return true;
}

/** A file of /proc as text; '' when this namespace has none (no IPv6). utf8 (they are ASCII) takes node's C++ path. */
export function readProc(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/**
 * The TCP connections this network namespace has opened, both ways, from the first `length` bytes of /proc/net/snmp:
 * ActiveOpens + PassiveOpens of its "Tcp:" values line (the line after the names); -1 without one. Shared by IPv4 and
 * IPv6. Bytes, not text, as for sockstat.
 */
export function tcpOpens(snmp: Uint8Array, length = snmp.length): number {
  let tcpLines = 0;
  for (let line = 0; line < length; ) {
    if (startsWith(snmp, line, TCP_SNMP) && ++tcpLines === 2) {
      // Values: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens ...; MaxConn is -1.
      let at = line + TCP_SNMP.length;
      let sum = 0;
      for (let field = 0; field < 6; field++) {
        while (at < length && snmp[at] === ASCII.space) at++;
        if (snmp[at] === ASCII.minus) at++;
        let n = 0;
        for (; at < length && snmp[at]! >= ASCII.zero && snmp[at]! <= ASCII.nine; at++)
          n = n * 10 + snmp[at]! - ASCII.zero;
        if (field >= 4) sum += n;
      }
      return sum;
    }
    while (line < length && snmp[line] !== ASCII.newline) line++;
    line++;
  }
  return -1;
}

/** A /proc counter file kept open and re-read in place: one pread per poll, no allocation. */
class ProcCounter {
  /** undefined: not opened yet (or dropped after an error); null: this namespace has no such file (no IPv6). */
  private fd: number | null | undefined;
  private readonly bytes: Buffer;

  constructor(
    private readonly path: string,
    private readonly parse: (bytes: Uint8Array, length: number) => number,
    size: number,
  ) {
    this.bytes = Buffer.alloc(size);
  }

  /** The counter now; 0 without the file; -1 after a failed read (which the caller takes as a change). */
  read(): number {
    if (this.fd === undefined)
      try {
        this.fd = openSync(this.path, 'r');
      } catch {
        this.fd = null;
      }
    if (this.fd === null) return 0;
    try {
      return this.parse(this.bytes, readSync(this.fd, this.bytes, 0, this.bytes.length, 0));
    } catch {
      this.close();
      return -1;
    }
  }

  close(): void {
    if (typeof this.fd === 'number') closeSync(this.fd);
    this.fd = undefined;
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

/**
 * The remote ports of the connections in `ss -tinH state established` output that have received bytes (the info
 * line under each connection carries bytes_received once the peer has sent any).
 */
export function portsThatSent(ssOutput: string): Set<number> {
  const ports = new Set<number>();
  let port: number | undefined;
  for (const line of ssOutput.split('\n')) {
    if (!line.trim()) continue;
    if (!/^\s/.test(line)) {
      // "Recv-Q Send-Q Local:Port Peer:Port" (IPv6 peers as [addr]:port)
      const peer = line.trim().split(/\s+/)[3] ?? '';
      port = Number(peer.slice(peer.lastIndexOf(':') + 1));
      continue;
    }
    const m = /\bbytes_received:(\d+)/.exec(line);
    if (port !== undefined && m && Number(m[1]) > 0) ports.add(port);
  }
  return ports;
}

/** A peer of the kernel's tables ("0100007F:9C40") as its port. */
const peerPort = (peer: string): number => parseInt(peer.slice(peer.lastIndexOf(':') + 1), 16);

export class VncViewers {
  private timer: NodeJS.Timeout | undefined;
  private seen = new Set<string>();
  /** When the newest connection not counted yet began to wait (undefined while none waits). */
  private waitingSince: number | undefined;
  private lastAsked = 0;
  /** Peers that have sent bytes: viewers, not probes. */
  private talked = new Set<string>();
  private asking = false;
  /** `ss` could not run: fall back to counting connections that lasted two polls. */
  private noSs = false;
  private count = 0;
  /** Per table (TCP_TABLES): the sockets in use at its last read, and the peers it listed then. */
  private readonly tables = TCP_TABLES.map((path, i) => ({
    path,
    sockstat: new ProcCounter(SOCKSTAT_FILES[i]!, tcpSocketsInUse, 512),
    inUse: -1,
    peers: [] as string[],
  }));
  private pollsSinceRead = 0;
  /** Connections opened either way (/proc/net/snmp): a viewer arriving as another connection closes moves no count. */
  private readonly snmp = new ProcCounter(SNMP_FILE, tcpOpens, 4096);
  private opens = -1;

  constructor(
    private readonly port: number,
    private readonly onChange: (viewers: number) => void,
    /** Local ports of the supervisor's own readiness probes (they are not viewers). */
    private readonly ownPorts: ReadonlySet<number> = new Set(),
    private readonly intervalMs = 100,
  ) {}

  start(): void {
    if (this.timer) return;
    let delay = this.intervalMs;
    const tick = (): void => {
      this.poll();
      if (!this.timer) return;
      // A connection waiting to count (it has not sent yet) is asked about every 25 ms for a second: a viewer sends its
      // version as soon as x11vnc greets it, and the KVM's login waits on this count. Not without ss: there the time
      // counts. The same delay re-arms the same timer (refresh) rather than making one 10 times a second.
      const next = this.waitingFast() ? WAITING_POLL_MS : this.intervalMs;
      if (next === delay) this.timer.refresh();
      else {
        delay = next;
        this.timer = setTimeout(tick, delay);
      }
    };
    this.timer = setTimeout(tick, delay);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const t of this.tables) t.sockstat.close();
    this.snmp.close();
  }

  private poll(): void {
    // A table whose family opened or closed nothing says what it said, unless its last read is old; a connection
    // waiting to count needs `ss`, not the tables again. No arrays on this path: it runs 10 times a second.
    const opens = this.snmp.read();
    const all = ++this.pollsSinceRead >= FULL_READ_EVERY || opens !== this.opens;
    this.opens = opens;
    if (all) this.pollsSinceRead = 0;
    let read = false;
    for (const t of this.tables) {
      const inUse = t.sockstat.read();
      if (!all && inUse === t.inUse) continue;
      t.inUse = inUse;
      t.peers = establishedPeers(readProc(t.path), this.port);
      read = true;
    }
    if (!read && !this.askDue()) return;
    const now = new Set<string>();
    for (const t of this.tables) for (const p of t.peers) if (!this.ownPorts.has(peerPort(p))) now.add(p);
    const before = this.seen;
    this.seen = now;
    for (const p of this.talked) if (!now.has(p)) this.talked.delete(p);
    if (this.noSs) {
      for (const p of now) if (before.has(p)) this.talked.add(p);
    } else if ([...now].some((p) => !this.talked.has(p))) {
      // A new connection gets its fast second even while an older one stays silent.
      if ([...now].some((p) => !before.has(p))) this.waitingSince = Date.now();
      else this.waitingSince ??= Date.now();
      if (this.askDue()) this.askWhoSent();
    } else {
      this.waitingSince = undefined;
    }
    this.recount();
  }

  /** A connection waits to count, and not for long yet. */
  private waitingFast(): boolean {
    return this.waitingSince !== undefined && !this.noSs && Date.now() - this.waitingSince < WAITING_FAST_FOR_MS;
  }

  /**
   * A connection waits to count and should be looked at now: at every poll in its first second (and always without
   * ss, whose fallback counts polls), then once a second; reading the tables costs CPU too.
   */
  private askDue(): boolean {
    if (this.seen.size <= this.count) return false;
    return this.noSs || this.waitingFast() || Date.now() - this.lastAsked >= SILENT_ASK_EVERY_MS;
  }

  /** Which of the connections not yet counted have sent bytes (ss reads tcp_info; /proc/net/tcp has no counts). */
  private askWhoSent(): void {
    if (this.asking) return;
    this.asking = true;
    this.lastAsked = Date.now();
    execFile('ss', ['-tinH', 'state', 'established', `( sport = :${this.port} )`], { timeout: 2000 }, (err, out) => {
      this.asking = false;
      if (err) {
        // Not installed, or it failed: a viewer must still count, so fall back to the two polls.
        this.noSs = true;
        return;
      }
      const sent = portsThatSent(out);
      for (const p of this.seen) if (sent.has(peerPort(p))) this.talked.add(p);
      this.recount();
    });
  }

  private recount(): void {
    let viewers = 0;
    for (const p of this.seen) if (this.talked.has(p)) viewers++;
    if (viewers !== this.count) {
      this.count = viewers;
      if (this.timer) this.onChange(viewers);
    }
  }
}
