import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Finds the cgroup v1 directory of a container (its id appears in the directory name, e.g. libpod-<id>.scope). */
export function findCgroupDir(controller: 'memory' | 'cpuacct', containerId: string, maxDepth = 5): string | undefined {
  const walk = (dir: string, depth: number): string | undefined => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return undefined;
    }
    for (const e of entries) if (e.isDirectory() && e.name.includes(containerId)) return join(dir, e.name);
    if (depth === 0) return undefined;
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const found = walk(join(dir, e.name), depth - 1);
      if (found) return found;
    }
    return undefined;
  };
  return walk(`/sys/fs/cgroup/${controller}`, maxDepth);
}

export interface CgroupMemory {
  usageBytes: number;
  rssBytes: number;
  cacheBytes: number;
}

export function cgroupMemory(dir: string): CgroupMemory {
  const stat = readFileSync(join(dir, 'memory.stat'), 'latin1');
  const field = (name: string): number => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(stat)?.[1] ?? 0);
  return {
    usageBytes: Number(readFileSync(join(dir, 'memory.usage_in_bytes'), 'latin1').trim()),
    // total_* include child cgroups (runc may nest the payload one level down).
    rssBytes: field('total_rss') || field('rss'),
    cacheBytes: field('total_cache') || field('cache'),
  };
}

/** Cumulative CPU time of the cgroup in nanoseconds. */
export function cgroupCpuNs(dir: string): number {
  return Number(readFileSync(join(dir, 'cpuacct.usage'), 'latin1').trim());
}
