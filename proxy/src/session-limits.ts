import type { ProxyConfig } from './config.js';

export type LimitRejection = 'limit-total' | 'limit-node' | 'limit-source';

/** Counts open sessions in total, per node and per source address; a slot is held from upgrade to close. */
export class SessionLimits {
  private total = 0;
  private perNode = new Map<string, number>();
  private perSource = new Map<string, number>();

  constructor(private readonly limits: ProxyConfig['limits']) {}

  /** Takes a slot or says which limit is full. The returned release function is idempotent. */
  acquire(node: string, source: string): { ok: true; release: () => void } | { ok: false; reason: LimitRejection } {
    if (this.total >= this.limits.maxSessionsTotal) return { ok: false, reason: 'limit-total' };
    if ((this.perNode.get(node) ?? 0) >= this.limits.maxSessionsPerNode) return { ok: false, reason: 'limit-node' };
    if ((this.perSource.get(source) ?? 0) >= this.limits.maxSessionsPerSource)
      return { ok: false, reason: 'limit-source' };
    this.total++;
    bump(this.perNode, node, 1);
    bump(this.perSource, source, 1);
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        this.total--;
        bump(this.perNode, node, -1);
        bump(this.perSource, source, -1);
      },
    };
  }
}

function bump(map: Map<string, number>, key: string, by: number): void {
  const n = (map.get(key) ?? 0) + by;
  if (n <= 0) map.delete(key);
  else map.set(key, n);
}
