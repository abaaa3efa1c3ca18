/**
 * Where a console's start time goes, on the host (no container): runs `bmc-console run` from source against a
 * fresh bmc-emulator (idrac9) and prints, from the spawn, the supervisor's log lines, the first X screen grab
 * showing the KVM marker (ImageMagick `import` of the Xvfb display: what Chromium has painted) and the first
 * VNC frame showing it (what x11vnc has sent). The gap between the two last is x11vnc's; the gap between
 * "the KVM is showing" and the X grab is Chromium's (paint and composite).
 * --container: the same in the console image under podman (the podman provider's flags; X grabs only for a
 * returning viewer, see --reconnect), then the container's memory with the KVM showing: cgroup usage and PSS per process.
 * --watch: the first viewer stays connected (asking for nothing) while the memory is read.
 * --reconnect: KVM_RELEASE_AFTER=0; after the first picture the viewer leaves, and a returning viewer is timed (with
 * --container too, X screen grabs tell Chromium's paint from x11vnc's send, through the container's network namespace).
 * --image NAME: another image than localhost/bmc-console:latest (an experiment built FROM it, say).
 * --kill-chromium N (with --container): then N times kill -9 the Chromium browser process and time the picture's
 * return (a fresh viewer each time), as the reliability suite's fault row does; --load K runs K busy loops meanwhile;
 * --load-consoles K starts K more consoles first (each its own emulator, KVM open, --viewers V watching viewers
 * asking for updates all the time, default 3), the load under which the suite's kill rows ran.
 * --soak MINUTES (with --container): then a viewer that keeps asking for updates, as noVNC does, watches for MINUTES;
 * each minute the cgroup's memory and CPU and each process's anon PSS are printed, at the end the growth per hour
 * (least squares over the minutes after the first ten, so that start-up settling is left out).
 * PROBE_SETTLE_MS: how long after the first picture the memory is read (default 5000).
 * PROBE_RETURN_AFTER_MS (--reconnect): how long the idle status page stays unwatched before the viewer returns
 * (default 1500).
 * PROBE_PODMAN_ARGS: more `podman run` flags for the probed console, e.g. a volume for `--cpu-prof` output.
 * Usage: node --conditions=source --import tsx bench/probes/console-probe.ts [--container] [--image NAME] [--reconnect] [--env NAME=VALUE ...]
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { RfbClient, waitForRfbGreeting } from '@bmc-console/common/rfb/client';
import { startEmulator } from '@bmc-console/bmc-emulator/emulator';
import { hostAddress } from '@bmc-console/bmc-emulator/host-address';
import { kvmMarkerColor, showsMarker } from '@bmc-console/bmc-emulator/marker';
import { cgroupCpuNs, cgroupMemory, findCgroupDir } from '../src/cgroup-stats.js';
import { freePort } from '@bmc-console/common/free-port';
import { CONSOLE_RUN_FLAGS, podmanEnvFor, startConsoleContainer } from '../src/console-run-flags.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const podmanEnv = podmanEnvFor(root);
const RUN_FLAGS = CONSOLE_RUN_FLAGS;

/** The probed console's container and those of --load-consoles, by name (a signal handler removes them by these). */
const probeContainer = `s2a-probe-${process.pid}`;
const loadContainer = (i: number): string => `s4-load-${process.pid}-${i}`;

/** A podman command's stdout, trimmed ('' when it failed: the probe reports what it can). */
function podman(args: string[], env: NodeJS.ProcessEnv = podmanEnv): Promise<string> {
  return new Promise((resolve) => execFile('podman', args, { env }, (_err, out) => resolve(String(out).trim())));
}

/**
 * True when the X screen's top-left shows the marker colour (a 16x16 crop inside the 80x80 marker). `netnsOf`: the
 * pid of a process in a console container, whose Xvfb is then reached from the host through its network namespace
 * (Xvfb listens on an abstract socket, which belongs to the namespace; the image has no X tools). `xauthority`: the
 * supervisor's cookie file, without which Xvfb refuses the grab.
 */
function xShowsMarker(
  display: string,
  c: { r: number; g: number; b: number },
  xauthority: string,
  netnsOf?: number,
): Promise<boolean> {
  const grab = ['import', '-display', display, '-window', 'root', '-crop', '16x16+20+20', '-depth', '8', 'rgba:-'];
  const [cmd, ...args] = netnsOf ? ['nsenter', '-t', String(netnsOf), '-n', ...grab] : grab;
  return new Promise((resolve) => {
    execFile(
      cmd!,
      args,
      { encoding: 'buffer', maxBuffer: 1 << 20, env: { ...process.env, XAUTHORITY: xauthority } },
      (err, out) => {
        resolve(!err && showsMarker(out, c, 100));
      },
    );
  });
}

/** A viewer that asks for updates all the time, as noVNC does; `updates` counts the answers, stop() ends the loop. */
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

/** K consoles with their KVM open and V viewers each that keep asking for updates (a watched fleet's load). */
async function startLoadConsoles(count: number, viewers: number, image: string): Promise<{ stop(): Promise<void> }> {
  const names: string[] = [];
  const emus: Awaited<ReturnType<typeof startEmulator>>[] = [];
  const clients: RfbClient[] = [];
  const askers: ReturnType<typeof keepAsking>[] = [];
  for (let i = 0; i < count; i++) {
    const emu = await startEmulator({ vendor: 'idrac9', host: hostAddress(), port: 0, node: `load-${i}` });
    emus.push(emu);
    const port = await freePort();
    const name = loadContainer(i);
    names.push(name);
    const env = {
      APP: 'redfish-graphical',
      KVM_RELEASE_AFTER: 'always',
      APP_INFO: JSON.stringify({
        address: emu.url,
        username: emu.username,
        password: emu.password,
        verify_ca: false,
        node_uuid: `load-${i}`,
      }),
    };
    await startConsoleContainer({ name, port, image, env });
    for (let v = 0; v < viewers; v++) {
      const c = await RfbClient.connect({ host: '127.0.0.1', port, timeoutMs: 30_000 });
      clients.push(c);
      askers.push(keepAsking(c));
    }
    process.stderr.write(`load console ${i + 1}/${count} up (load ${loadavg()[0]!.toFixed(1)})\n`);
  }
  return {
    async stop() {
      const stopped = Promise.all(askers.map((a) => a.stop()));
      for (const c of clients) c.close();
      await stopped;
      await Promise.all(names.map((n) => podman(['rm', '--force', '--time', '2', n])));
      for (const e of emus) await e.close();
    },
  };
}

/**
 * PSS per process in a console container, MiB: total, anon, shmem, then Chromium's --type (or the command line).
 * Chromium rewrites its children's command lines as one space-separated string, so --type is not anchored.
 */
const PSS_PER_PROCESS =
  'for p in /proc/[0-9]*; do t=$(tr "\\0" "\\n" < $p/cmdline | grep -o -- "--type=[a-z-]*\\|--utility-sub-type=[a-zA-Z.]*" | tr "\\n" " "); c=$(tr "\\0" " " < $p/cmdline | cut -c1-50); awk -v n="${t:-$c}" \'/^(Pss|Pss_Anon|Pss_Shmem):/ {v[$1]=int($2/1024)} END {if (v["Pss:"]) print v["Pss:"], v["Pss_Anon:"], v["Pss_Shmem:"], n}\' $p/smaps_rollup 2>/dev/null; done';

/** Least-squares slope of ys over xs (per unit of x); 0 with fewer than two points. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den ? num / den : 0;
}

/**
 * A console watched for a long time: one viewer asks for updates all the time (noVNC's way), and each minute the
 * container's memory (cgroup) and each process's anon PSS are printed as they are read (stdout), then the growth per
 * hour. Chromium's processes are named by their --type; the rest by their command line's start.
 */
async function soak(
  name: string,
  port: number,
  minutes: number,
  memDir: string,
  cpuDir: string | undefined,
): Promise<void> {
  const viewer = await RfbClient.connect({ host: '127.0.0.1', port, timeoutMs: 10_000 });
  const asking = keepAsking(viewer);
  /** Each minute's readings, MiB by what was read (a process that comes or goes is missing from some minutes). */
  const readings: Map<string, number>[] = [];
  const mib = (b: number): number => Math.round(b / 2 ** 20);
  let cpu0 = cpuDir ? cgroupCpuNs(cpuDir) : 0;
  process.stdout.write(`soak: ${minutes} min, one viewer asking for updates all the time\n`);
  try {
    for (let m = 1; m <= minutes; m++) {
      await sleep(60_000);
      const mem = cgroupMemory(memDir);
      const cpu = cpuDir ? cgroupCpuNs(cpuDir) : 0;
      const cpuPct = cpuDir ? ((cpu - cpu0) / 60e9) * 100 : Number.NaN;
      cpu0 = cpu;
      // Same-named processes (zygotes) add up; anon PSS is what a leak grows.
      const anon = new Map<string, number>();
      for (const line of (await podman(['exec', name, 'sh', '-c', PSS_PER_PROCESS])).split('\n')) {
        const [, a, , ...rest] = line.trim().split(/\s+/);
        const label = rest
          .join(' ')
          .replace(/^--type=/, '')
          .trim();
        if (label && a !== undefined) anon.set(label, (anon.get(label) ?? 0) + Number(a));
      }
      readings.push(
        new Map([
          ['cgroup usage', mib(mem.usageBytes)],
          ['cgroup rss', mib(mem.rssBytes)],
          ['cgroup cache', mib(mem.cacheBytes)],
          ...[...anon].map(([k, v]): [string, number] => [`anon ${k}`, v]),
        ]),
      );
      const procs = [...anon].map(([k, v]) => `${k.slice(0, 24)} ${v}`).join(', ');
      process.stdout.write(
        `soak ${String(m).padStart(3)} min: cgroup ${mib(mem.usageBytes)} MiB (rss ${mib(mem.rssBytes)}, cache ${mib(mem.cacheBytes)}), CPU ${cpuPct.toFixed(1)} %, ${asking.updates} updates; anon MiB: ${procs}\n`,
      );
    }
  } finally {
    const stopped = asking.stop();
    viewer.close(); // the pending request ends with the connection
    await stopped;
  }
  const from = Math.min(10, Math.floor(readings.length / 2)); // minute from + 1 on
  process.stdout.write(`soak: growth per hour over minutes ${from + 1}-${readings.length} (least squares), MiB:\n`);
  for (const key of new Set(readings.flatMap((r) => [...r.keys()]))) {
    const xs: number[] = [];
    const ys: number[] = [];
    readings.forEach((r, i) => {
      const v = r.get(key);
      if (i >= from && v !== undefined) xs.push(i + 1), ys.push(v);
    });
    if (xs.length >= 2)
      process.stdout.write(
        `  ${key.padEnd(40)} ${(slope(xs, ys) * 60).toFixed(1).padStart(7)}  (${ys[0]} → ${ys[ys.length - 1]})\n`,
      );
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const extraEnv: Record<string, string> = {};
  for (let i = 0; i < args.length; i++)
    if (args[i] === '--env') {
      const [k, ...v] = (args[++i] ?? '').split('=');
      if (k) extraEnv[k] = v.join('=');
    }
  const reconnect = args.includes('--reconnect');
  const watch = args.includes('--watch');
  const kept: RfbClient[] = [];
  const kills = args.includes('--kill-chromium') ? Number(args[args.indexOf('--kill-chromium') + 1]) : 0;
  const hogs = args.includes('--load') ? Number(args[args.indexOf('--load') + 1]) : 0;
  const loadConsoles = args.includes('--load-consoles') ? Number(args[args.indexOf('--load-consoles') + 1]) : 0;
  const viewersPer = args.includes('--viewers') ? Number(args[args.indexOf('--viewers') + 1]) : 3;
  const container = args.includes('--container');
  const soakMinutes = args.includes('--soak') ? Number(args[args.indexOf('--soak') + 1]) : 0;
  if (soakMinutes && !container)
    throw new Error("--soak: needs --container (the memory is read from the container's cgroup)");
  const image =
    (args.includes('--image') ? args[args.indexOf('--image') + 1] : undefined) ?? 'localhost/bmc-console:latest';
  // Stopped by a signal (a timeout, Ctrl-C), the probe removes the consoles it started, as its finally block does.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      const names = [probeContainer, ...Array.from({ length: loadConsoles }, (_, i) => loadContainer(i))];
      try {
        execFileSync('podman', ['rm', '--force', '--ignore', '--time', '0', ...names], {
          env: podmanEnv,
          stdio: 'ignore',
        });
      } finally {
        process.exit(130);
      }
    });
  }
  const load = await startLoadConsoles(loadConsoles, viewersPer, image);
  const emu = await startEmulator({ vendor: 'idrac9', host: hostAddress(), port: 0, node: 'probe' });
  const colour = kvmMarkerColor('idrac9');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'console-probe-'));
  const stateFile = join(dir, 'state.json');
  const t0 = Date.now();
  const rel = (t: number): string => ((t - t0) / 1000).toFixed(2).padStart(6);
  const events: [number, string][] = [];
  const note = (what: string, t = Date.now()): void => void events.push([t, what]);
  const appInfo = {
    address: emu.url,
    username: emu.username,
    password: emu.password,
    verify_ca: false,
    node_uuid: 'probe',
  };
  const env: Record<string, string> = {
    APP: 'redfish-graphical',
    APP_INFO: JSON.stringify(appInfo),
    ...(reconnect ? { KVM_RELEASE_AFTER: '0' } : {}),
    ...extraEnv,
  };
  const name = probeContainer;

  // Container mode: the podman provider's flags (host-agent/src/providers/podman/provider.ts defaults), the log from `podman logs -f`.
  const proc = container
    ? spawn(
        'sh',
        [
          '-c',
          `podman run ${RUN_FLAGS.join(' ')} --name ${name} --publish 127.0.0.1:${port}:5900 ${process.env.PROBE_PODMAN_ARGS ?? ''} ${Object.keys(
            env,
          )
            .map((k) => `--env ${k}`)
            .join(' ')} ${image} >/dev/null && exec podman logs -f ${name}`,
        ],
        {
          env: { ...podmanEnv, ...env },
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      )
    : spawn(process.execPath, ['--conditions=source', '--import', 'tsx', join(root, 'image/src/cli.ts'), 'run'], {
        cwd: root,
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: process.env.HOME ?? '/root',
          CHROMIUM_SANDBOX: '0',
          VNC_PORT: String(port),
          BMC_CONSOLE_STATE_FILE: stateFile,
          ...env,
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
  let buf = '';
  proc.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        const j = JSON.parse(line) as { time: number; msg: string; step?: string };
        note(j.step ? `status: ${j.step}` : j.msg, j.time);
      } catch {
        // not JSON
      }
    }
  });
  const display = async (): Promise<{ display: string; xauthority: string }> => {
    for (;;) {
      try {
        const s = JSON.parse(readFileSync(stateFile, 'utf8')) as { display?: string; xauthority?: string };
        if (s.display && s.xauthority) return { display: s.display, xauthority: s.xauthority };
      } catch {
        // not written yet
      }
      await sleep(20);
    }
  };
  const watchX = async (from: number): Promise<void> => {
    if (container) return;
    const d = await display();
    while (!(await xShowsMarker(d.display, colour, d.xauthority))) await sleep(10);
    note(`X screen shows the KVM marker (${Date.now() - from} ms after the watch began)`);
  };
  const watchVnc = async (label: string, greet = true): Promise<void> => {
    // A returning viewer connects at once: a greeting probe of its own would count as a viewer (and leave).
    if (greet) await waitForRfbGreeting('127.0.0.1', port, 60_000);
    const c = await RfbClient.connect({ host: '127.0.0.1', port, timeoutMs: 5000 });
    note(`${label}: VNC client connected`);
    let frames = 0;
    try {
      for (;;) {
        const asked = Date.now();
        await c.requestUpdate(frames++ > 0).catch(() => undefined);
        const shows = showsMarker(c.framebuffer, colour);
        // A returning viewer's updates, to tell a late update from a late paint (the X grab's line).
        if (label === 'returning viewer')
          note(
            `  update ${frames}: asked at ${rel(asked).trim()} s, came after ${Date.now() - asked} ms, marker ${shows}`,
          );
        if (shows) break;
      }
      note(`${label}: VNC frame shows the KVM marker (${frames} updates)`);
    } finally {
      // --watch: the first viewer stays connected (asking for nothing), so memory is read as while someone watches.
      if (watch && label === 'first viewer') kept.push(c);
      else c.close();
    }
  };
  try {
    await Promise.all([watchX(t0), watchVnc('first viewer')]);
    if (container) {
      // CPU the container spent up to the first picture (all its processes): on 2 cores the start is CPU-bound.
      const id = await podman(['inspect', '--format', '{{.Id}}', name]);
      const cpuDir = findCgroupDir('cpuacct', id);
      if (cpuDir) note(`container CPU up to the picture: ${(cgroupCpuNs(cpuDir) / 1e9).toFixed(2)} s`);
      const perProcess =
        'for p in /proc/[0-9]*; do c=$(tr "\\0" " " < $p/cmdline | cut -c1-70); awk -v n="$c" \'{print ($14+$15)/100, ($16+$17)/100, n}\' $p/stat 2>/dev/null; done';
      note(`CPU s per process (own, reaped children):\n${await podman(['exec', name, 'sh', '-c', perProcess])}`);
      // Memory with the KVM showing (the viewer has left unless --watch; the KVM stays open for KVM_RELEASE_AFTER).
      await sleep(Number(process.env.PROBE_SETTLE_MS ?? 5000));
      const dir = findCgroupDir('memory', id);
      if (dir) {
        const m = cgroupMemory(dir);
        const mib = (b: number): string => (b / 2 ** 20).toFixed(0);
        note(`memory: cgroup usage ${mib(m.usageBytes)} MiB, rss ${mib(m.rssBytes)}, cache ${mib(m.cacheBytes)}`);
      }
      note(`PSS MiB (total, anon, shmem) per process:\n${await podman(['exec', name, 'sh', '-c', PSS_PER_PROCESS])}`);
      if (soakMinutes && dir) await soak(name, port, soakMinutes, dir, cpuDir);
    }
    for (let k = 1; k <= kills; k++) {
      const busy = Array.from({ length: hogs }, () =>
        spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }),
      );
      try {
        await sleep(3000);
        const find =
          'for p in /proc/[0-9]*; do c=$(tr "\\0" " " < $p/cmdline); case "$c" in *chromium/chromium*) case "$c" in *--type=*) ;; *) echo ${p#/proc/};; esac;; esac; done';
        const pids = await podman(['exec', name, 'sh', '-c', find]);
        const tk = Date.now();
        note(`--- kill ${k}: kill -9 Chromium ${pids.split('\n').join(',')}`);
        await podman(['exec', name, 'kill', '-9', ...pids.split('\n')]);
        await sleep(500);
        await watchVnc(`kill ${k}`);
        note(
          `kill ${k}: picture back after ${((Date.now() - tk) / 1000).toFixed(1)} s (load ${loadavg()[0]!.toFixed(1)})`,
        );
      } finally {
        for (const b of busy) b.kill('SIGKILL');
      }
    }
    if (reconnect) {
      // KVM_RELEASE_AFTER=0: the KVM closes when the viewer leaves; wait for the idle status page, then return.
      while (emu.state().liveKvmSessions > 0) await sleep(50);
      while (
        !events.some(
          ([, w]) => w.includes('opens when a viewer connects') && events.some(([, x]) => x.includes('no viewer')),
        )
      )
        await sleep(50);
      await sleep(Number(process.env.PROBE_RETURN_AFTER_MS ?? 1500));
      const t1 = Date.now();
      note('--- a viewer returns');
      // In the container the X screen is grabbed for the returning viewer only: grabs from the start would load the
      // cold start they time.
      const netnsOf = container ? Number(await podman(['inspect', '--format', '{{.State.Pid}}', name])) : undefined;
      // A container's Xvfb is the first display of its namespace; its cookie is read through the container's root.
      const d = container
        ? {
            display: ':0',
            xauthority: `/proc/${netnsOf}/root${(await podman(['exec', name, 'sh', '-c', 'ls /tmp/bmc-console-*/Xauthority'])).trim().split('\n')[0]}`,
          }
        : await display();
      await Promise.all([
        watchVnc('returning viewer', false),
        (async () => {
          await sleep(50);
          while (!(await xShowsMarker(d.display, colour, d.xauthority, netnsOf))) await sleep(10);
          note('X screen shows the KVM marker again');
        })(),
      ]);
      note(`returning viewer: ${(Date.now() - t1) / 1000} s`);
    }
  } finally {
    for (const c of kept) c.close();
    if (container) void podman(['rm', '--force', '--time', '3', name]).then(() => proc.kill('SIGTERM'));
    else proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
    await emu.close();
    await load.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  for (const [t, w] of events.sort((a, b) => a[0] - b[0])) process.stdout.write(`${rel(t)}  ${w}\n`);
}

await main();
