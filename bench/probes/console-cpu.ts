/**
 * Where a watched console's CPU and memory go, per process, and whether a variant moves them: for each round, one
 * console per variant is started at the same time (each against its own bmc-emulator, idrac9), a viewer that keeps
 * asking for updates (as noVNC does) watches each, and over the same window each process's CPU (utime+stime from
 * /proc/<pid>/stat), each process's PSS and the cgroup's CPU and memory are read. Variants run side by side and their
 * order rotates each round, so the machine's load falls on all alike. Medians over the rounds at the end.
 * --copies N: N consoles of each variant at once (a small density run: each console's share with N x variants live).
 * A variant is LABEL=ARGS: ARGS are more `podman run` arguments (a volume with a wrapper, `--env X=Y`), and an
 * `@IMAGE` among them probes another image than localhost/bmc-console:latest.
 * PROBE_WINDOW_S (default 40): the measuring window; PROBE_SETTLE_S (default 10): the wait after the KVM shows.
 * Usage: node --conditions=source --import tsx bench/probes/console-cpu.ts [--rounds N] --variant base= --variant 'x=-v /tmp/w:/w:ro --env CHROMIUM_PATH=/w/chromium'
 */
import { execFile, execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { RfbClient } from '@bmc-console/common/rfb/client';
import { startEmulator } from '@bmc-console/bmc-emulator/emulator';
import { hostAddress } from '@bmc-console/bmc-emulator/host-address';
import { kvmMarkerColor, showsMarker } from '@bmc-console/bmc-emulator/marker';
import { cgroupCpuNs, cgroupMemory, findCgroupDir } from '../src/cgroup-stats.js';
import { freePort } from '@bmc-console/common/free-port';
import { podmanEnvFor, startConsoleContainer } from '../src/console-run-flags.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const podmanEnv = podmanEnvFor(root);

interface Variant {
  label: string;
  image: string;
  args: string[];
}

/** Per process of a container: a name (Chromium's --type, else the command), CPU ticks, PSS and anon PSS in KiB. */
interface ProcSample {
  pid: string;
  name: string;
  ticks: number;
  pssKiB: number;
  anonKiB: number;
}

/**
 * One line per process: pid, utime+stime, Pss, Pss_Anon, then its name. Chromium rewrites its children's command
 * lines as one space-separated string, so --type is not anchored.
 */
const PER_PROCESS =
  'for p in /proc/[0-9]*; do t=$(tr "\\0" "\\n" < $p/cmdline 2>/dev/null | grep -o -- "--type=[a-z-]*\\|--utility-sub-type=[a-zA-Z.]*" | tr "\\n" " "); c=$(tr "\\0" " " < $p/cmdline 2>/dev/null | cut -c1-40); s=$(awk \'{print $14+$15}\' $p/stat 2>/dev/null); awk -v n="${t:-$c}" -v s="$s" -v p="${p#/proc/}" \'/^(Pss|Pss_Anon):/ {v[$1]=$2} END {if (s != "") print p, s, v["Pss:"]+0, v["Pss_Anon:"]+0, n}\' $p/smaps_rollup 2>/dev/null; done';

function podman(args: string[]): Promise<string> {
  return new Promise((resolve) =>
    execFile('podman', args, { env: podmanEnv, maxBuffer: 1 << 22 }, (_err, out) => resolve(String(out).trim())),
  );
}

async function sampleProcesses(name: string): Promise<ProcSample[]> {
  const out: ProcSample[] = [];
  for (const line of (await podman(['exec', name, 'sh', '-c', PER_PROCESS])).split('\n')) {
    const [pid, ticks, pss, anon, ...rest] = line.trim().split(/\s+/);
    const label = rest
      .join(' ')
      .replace(/--type=/, '')
      .replace(/--utility-sub-type=/, '')
      .trim();
    // The sampling shell and its children are the probe's, not the console's.
    if (!pid || !label || /^(sh -c|awk|tr |cut |grep )/.test(label)) continue;
    out.push({
      pid,
      name: label.replace(/\/opt\/bmc-console\S*|\/usr\/local\/bin\/bmc-console/, 'bmc-console').slice(0, 32),
      ticks: Number(ticks),
      pssKiB: Number(pss),
      anonKiB: Number(anon),
    });
  }
  return out;
}

/** A viewer that asks for updates all the time, as noVNC does. */
function keepAsking(c: RfbClient): { readonly updates: number; stop(): Promise<void> } {
  let stopping = false;
  let updates = 0;
  const loop = (async () => {
    while (!stopping)
      await c.requestUpdate(true).then(
        () => updates++,
        () => sleep(500),
      );
  })();
  return {
    get updates() {
      return updates;
    },
    async stop() {
      stopping = true;
      await loop;
    },
  };
}

interface RoundResult {
  /** % of one core per process name (same names summed), and for the whole cgroup. */
  cpu: Map<string, number>;
  /** PSS MiB per process name, and cgroup usage. */
  pss: Map<string, number>;
  updatesPerS: number;
}

async function runConsole(v: Variant, i: number, round: number) {
  const emu = await startEmulator({ vendor: 'idrac9', host: hostAddress(), port: 0, node: `cpu-${i}` });
  const port = await freePort();
  const name = `cpu-probe-${process.pid}-${round}-${i}`;
  const env = {
    APP: 'redfish-graphical',
    APP_INFO: JSON.stringify({
      address: emu.url,
      username: emu.username,
      password: emu.password,
      verify_ca: false,
      node_uuid: `cpu-${i}`,
    }),
  };
  await startConsoleContainer({ name, port, image: v.image, env, args: v.args, label: v.label });
  const viewer = await RfbClient.connect({ host: '127.0.0.1', port, timeoutMs: 30_000 });
  const colour = kvmMarkerColor('idrac9');
  const t0 = Date.now();
  for (let first = true; !showsMarker(viewer.framebuffer, colour); first = false) {
    if (Date.now() - t0 > 90_000) throw new Error(`${v.label}: no KVM picture within 90 s`);
    await viewer.requestUpdate(!first);
  }
  const asking = keepAsking(viewer);
  const id = await podman(['inspect', '--format', '{{.Id}}', name]);
  return {
    name,
    asking,
    cpuDir: findCgroupDir('cpuacct', id),
    memDir: findCgroupDir('memory', id),
    async stop() {
      const stopped = asking.stop();
      viewer.close();
      await stopped;
      await podman(['rm', '--force', '--time', '2', name]);
      await emu.close();
    },
  };
}

/** One result per console: `copies` consoles of each variant, started together. */
async function round(
  variants: Variant[],
  r: number,
  windowS: number,
  settleS: number,
  copies: number,
): Promise<{ variant: number; result: RoundResult }[]> {
  const order = Array.from({ length: copies }, () => variants.map((_, i) => (i + r) % variants.length)).flat();
  const consoles = await Promise.all(order.map((i, k) => runConsole(variants[i]!, k, r)));
  try {
    await sleep(settleS * 1000);
    const before = await Promise.all(
      consoles.map(async (c) => ({
        procs: await sampleProcesses(c.name),
        cg: c.cpuDir ? cgroupCpuNs(c.cpuDir) : 0,
        updates: c.asking.updates,
        t: Date.now(),
      })),
    );
    await sleep(windowS * 1000);
    const after = await Promise.all(
      consoles.map(async (c) => ({
        procs: await sampleProcesses(c.name),
        cg: c.cpuDir ? cgroupCpuNs(c.cpuDir) : 0,
        updates: c.asking.updates,
        t: Date.now(),
      })),
    );
    return order.map((vi, k) => {
      const b = before[k]!;
      const a = after[k]!;
      const secs = (a.t - b.t) / 1000;
      const cpu = new Map<string, number>();
      const pss = new Map<string, number>();
      const old = new Map(b.procs.map((p) => [p.pid, p]));
      for (const p of a.procs) {
        const o = old.get(p.pid);
        if (o) cpu.set(p.name, (cpu.get(p.name) ?? 0) + (p.ticks - o.ticks) / secs); // 100 ticks a second: % of a core
        pss.set(p.name, (pss.get(p.name) ?? 0) + p.pssKiB / 1024);
        pss.set(`${p.name} (anon)`, (pss.get(`${p.name} (anon)`) ?? 0) + p.anonKiB / 1024);
      }
      const c = consoles[k]!;
      cpu.set('= cgroup', (a.cg - b.cg) / 1e7 / secs);
      if (c.memDir) pss.set('= cgroup usage', cgroupMemory(c.memDir).usageBytes / 2 ** 20);
      pss.set('= PSS sum', a.procs.reduce((s, p) => s + p.pssKiB, 0) / 1024);
      return { variant: vi, result: { cpu, pss, updatesPerS: (a.updates - b.updates) / secs } };
    });
  } finally {
    await Promise.all(consoles.map((c) => c.stop()));
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2 : Number.NaN;
};

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const rounds = args.includes('--rounds') ? Number(args[args.indexOf('--rounds') + 1]) : 3;
  const copies = args.includes('--copies') ? Number(args[args.indexOf('--copies') + 1]) : 1;
  const variants: Variant[] = [];
  for (let i = 0; i < args.length; i++)
    if (args[i] === '--variant') {
      const spec = args[++i] ?? '';
      const eq = spec.indexOf('=');
      const toks = spec
        .slice(eq + 1)
        .split(/\s+/)
        .filter(Boolean);
      const image = toks.find((t) => t.startsWith('@'))?.slice(1) ?? 'localhost/bmc-console:latest';
      variants.push({ label: spec.slice(0, eq), image, args: toks.filter((t) => !t.startsWith('@')) });
    }
  if (variants.length === 0) variants.push({ label: 'base', image: 'localhost/bmc-console:latest', args: [] });
  const windowS = Number(process.env.PROBE_WINDOW_S ?? 40);
  const settleS = Number(process.env.PROBE_SETTLE_S ?? 10);
  process.once('SIGINT', () => {
    const names = execFileSync('podman', ['ps', '--format', '{{.Names}}'], { env: podmanEnv, encoding: 'utf8' })
      .split('\n')
      .filter((n) => n.startsWith(`cpu-probe-${process.pid}-`));
    if (names.length)
      execFileSync('podman', ['rm', '--force', '--time', '0', ...names], { env: podmanEnv, stdio: 'ignore' });
    process.exit(130);
  });
  const results: RoundResult[][] = variants.map(() => []);
  for (let r = 0; r < rounds; r++) {
    const load = loadavg()[0]!.toFixed(1);
    const res = await round(variants, r, windowS, settleS, copies);
    for (const x of res) results[x.variant]!.push(x.result);
    process.stdout.write(
      `round ${r + 1}/${rounds} (load ${load} -> ${loadavg()[0]!.toFixed(1)}): ${res.map((x) => `${variants[x.variant]!.label} ${x.result.cpu.get('= cgroup')!.toFixed(2)} % cgroup, ${x.result.updatesPerS.toFixed(1)} updates/s`).join('; ')}\n`,
    );
  }
  for (const [what, unit, key] of [
    ['CPU, % of one core', '%', 'cpu'],
    ['memory, MiB', 'MiB', 'pss'],
  ] as const) {
    process.stdout.write(
      `\n${what} (median of ${rounds} rounds x ${copies} consoles; ${unit})\n${'process'.padEnd(40)}${variants.map((v) => v.label.padStart(12)).join('')}\n`,
    );
    const names = [...new Set(results.flatMap((rs) => rs.flatMap((x) => [...x[key].keys()])))].sort();
    for (const n of names) {
      const vals = results.map((rs) => median(rs.map((x) => x[key].get(n) ?? 0)));
      if (vals.every((v) => Math.abs(v) < 0.05)) continue;
      process.stdout.write(`${n.padEnd(40)}${vals.map((v) => v.toFixed(2).padStart(12)).join('')}\n`);
    }
  }
  process.stdout.write(
    `\nupdates/s: ${results.map((rs, i) => `${variants[i]!.label} ${median(rs.map((x) => x.updatesPerS)).toFixed(1)}`).join(', ')}\n`,
  );
}

await main();
