/**
 * Counts the VNC viewers connected to x11vnc by reading the kernel's TCP tables (/proc/net/tcp, tcp6) of our
 * network namespace: established connections whose local port is the VNC port. This needs no x11vnc hooks
 * (which run shell commands per client) and sees viewers through any proxy or port publishing.
 * A connection counts once it has lasted two polls, so readiness probes (connect, read the greeting, close)
 * do not log in to the BMC.
 */
import { readFile } from 'node:fs/promises';

/** TCP states as the kernel's tables write them. */
const TCP_STATE = { established: '01', listen: '0A' } as const;
export const TCP_TABLES = ['/proc/net/tcp', '/proc/net/tcp6'];

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
  private polling = false;

  constructor(
    private readonly port: number,
    private readonly onChange: (viewers: number) => void,
    /** Local ports of the supervisor's own readiness probes (they are not viewers). */
    private readonly ownPorts: ReadonlySet<number> = new Set(),
    private readonly intervalMs = 100,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.poll(), this.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const now = new Set<string>();
      for (const t of TCP_TABLES) {
        const text = await readFile(t, 'utf8').catch(() => '');
        for (const p of establishedPeers(text, this.port)) if (!this.ownPorts.has(parseInt(p.slice(p.lastIndexOf(':') + 1), 16))) now.add(p);
      }
      let lasting = 0;
      for (const p of now) if (this.seen.has(p)) lasting++;
      this.seen = now;
      if (lasting !== this.count) {
        this.count = lasting;
        if (this.timer) this.onChange(lasting);
      }
    } finally {
      this.polling = false;
    }
  }
}
