import { readFileSync, readdirSync } from 'node:fs';

export interface Memory {
  /** Proportional set size in KiB: shared pages split between the processes that map them. */
  pssKiB: number;
  rssKiB: number;
  processes: number;
}

/** `rootPid` and all its descendants, from the ppid field of /proc/<pid>/stat. */
export function processTree(rootPid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'latin1');
    } catch {
      continue; // exited meanwhile
    }
    // The command name may contain spaces and parentheses; the fields after the last ')' are fixed.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(name));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const todo = [rootPid];
  while (todo.length > 0) {
    const pid = todo.pop()!;
    out.push(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** Sums Pss and Rss of /proc/<pid>/smaps_rollup over the given processes (ones that exited are skipped). */
function memoryOf(pids: number[]): Memory {
  let pss = 0;
  let rss = 0;
  let processes = 0;
  for (const pid of pids) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1');
    } catch {
      continue;
    }
    pss += Number(/^Pss:\s+(\d+) kB/m.exec(text)?.[1] ?? 0);
    rss += Number(/^Rss:\s+(\d+) kB/m.exec(text)?.[1] ?? 0);
    processes++;
  }
  return { pssKiB: pss, rssKiB: rss, processes };
}

export function treeMemory(rootPid: number): Memory {
  return memoryOf(processTree(rootPid));
}

/** CPU time (user + system) of a process tree in seconds, from /proc/<pid>/stat (children that exited are not counted). */
export function treeCpuSeconds(rootPid: number): number {
  let ticks = 0;
  for (const pid of processTree(rootPid)) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // exited meanwhile
    }
  }
  return ticks / 100;
}
