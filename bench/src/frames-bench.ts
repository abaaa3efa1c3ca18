/**
 * Frames a viewer gets from a moving screen (issue 26): the emulator's KVM page redraws the whole screen at 30 fps
 * with a frame counter strip (BMC_EMULATOR_KVM_ANIMATE); our viewer page counts the distinct counter values its
 * canvas shows, with the bytes its websocket received, the console container's CPU (cgroup) and the proxy's CPU.
 * Baseline in the same run: a VNC client straight at x11vnc. Also bytes/s and CPU for the still text console.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { kvmMarkerColor } from '@bmc-console/bmc-emulator/marker';
import { cgroupCpuNs, findCgroupDir } from './cgroup-stats.js';
import type { FrameRun, FrameSummary, FramesResults } from './interactive-results.js';
import { x11vncSettings } from './keystroke-bench.js';
import { RfbWatch } from './rfb-watch.js';
import { median, round } from './stats.js';
import { countBytes, countFrames, locateKvm } from './viewer-probe.js';
import { containerId, PROFILE, stackUnavailable, ViewerStack, type LiveConsole } from './viewer-stack.js';

const log = (msg: string): void => void process.stderr.write(`bench: frames: ${msg}\n`);
const ANIMATE_FPS = 30;
/**
 * After a viewer connects: its first full picture and the KVM page's catch-up are not steady state, nor are the 3 s
 * in which x11vnc's preload polls the screen every 20 ms for a new client (image/x11vnc-preload/hooks.c).
 */
const SETTLE_MS = 3000;

/** CPU time of a process (user + system) in ms, from /proc (clock ticks of 10 ms). */
function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'latin1')
    .replace(/^.*\) /, '')
    .split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Measures the console's and the proxy's CPU (% of one core) while `work` runs. */
async function withCpu<T>(
  cgroupDir: string | undefined,
  proxyPid: number,
  work: () => Promise<T>,
): Promise<{ value: T; consoleCpuPercent?: number; proxyCpuPercent: number }> {
  const c0 = cgroupDir ? cgroupCpuNs(cgroupDir) : 0;
  const p0 = processCpuMs(proxyPid);
  const t0 = performance.now();
  const value = await work();
  const ms = performance.now() - t0;
  return {
    value,
    ...(cgroupDir ? { consoleCpuPercent: round(((cgroupCpuNs(cgroupDir) - c0) / 1e6 / ms) * 100, 1) } : {}),
    proxyCpuPercent: round(((processCpuMs(proxyPid) - p0) / ms) * 100, 1),
  };
}

async function cgroupOf(c: LiveConsole): Promise<string | undefined> {
  const id = await containerId(c.node);
  return id ? findCgroupDir('cpuacct', id) : undefined;
}

function summary(runs: FrameRun[]): FrameSummary {
  const med = (pick: (r: FrameRun) => number | undefined): number | undefined => {
    const v = runs.map(pick).filter((x): x is number => x !== undefined);
    return v.length ? round(median(v), 1) : undefined;
  };
  const bytesPerSec = med((r) => r.bytesPerSec);
  const consoleCpuPercent = med((r) => r.consoleCpuPercent);
  const proxyCpuPercent = med((r) => r.proxyCpuPercent);
  return {
    runs,
    fps: med((r) => r.fps) ?? 0,
    sourceFps: med((r) => r.sourceFps) ?? 0,
    ...(bytesPerSec !== undefined ? { bytesPerSec: Math.round(bytesPerSec) } : {}),
    ...(consoleCpuPercent !== undefined ? { consoleCpuPercent } : {}),
    ...(proxyCpuPercent !== undefined ? { proxyCpuPercent } : {}),
  };
}

export async function runFramesBench(quick: boolean): Promise<FramesResults> {
  const why = await stackUnavailable();
  if (why) return { skipped: why };
  const runs = quick ? 1 : 10;
  const windowMs = 2500;
  const colour = kvmMarkerColor(PROFILE);
  const results: FramesResults = {
    loadAverage: { start: round(loadavg()[0]!, 1), end: 0 },
    animateFps: ANIMATE_FPS,
    notes: [],
  };
  const stack = await ViewerStack.start('bmc-bench-frames');
  try {
    // 1. The text console (its clock redraws once a second) through the viewer.
    log('starting the text console');
    const idle = await stack.addConsole('bench-frames-idle');
    const idleCg = await cgroupOf(idle);
    const idleRuns: { bytesPerSec: number; consoleCpuPercent?: number; proxyCpuPercent: number }[] = [];
    for (let r = 1; r <= runs; r++) {
      log(`text console: run ${r}/${runs}`);
      const page = await stack.openViewer(idle);
      try {
        await locateKvm(page, colour, 90_000);
        await sleep(SETTLE_MS);
        const m = await withCpu(idleCg, stack.proxyPid, () => countBytes(page, windowMs));
        idleRuns.push({
          bytesPerSec: (m.value.bytes / m.value.ms) * 1000,
          ...(m.consoleCpuPercent !== undefined ? { consoleCpuPercent: m.consoleCpuPercent } : {}),
          proxyCpuPercent: m.proxyCpuPercent,
        });
      } finally {
        await page.close();
      }
    }
    results.x11vnc = await x11vncSettings(idle.node);
    await stack.removeConsole(idle);
    if (idleRuns.length) {
      const cpu = idleRuns.map((r) => r.consoleCpuPercent).filter((x): x is number => x !== undefined);
      results.idleViewer = {
        runs: idleRuns.length,
        bytesPerSec: Math.round(median(idleRuns.map((r) => r.bytesPerSec))),
        ...(cpu.length ? { consoleCpuPercent: round(median(cpu), 1) } : {}),
        proxyCpuPercent: round(median(idleRuns.map((r) => r.proxyCpuPercent)), 1),
      };
    }

    // 2. The full-screen animation through the viewer, then straight at x11vnc.
    log(`starting the animated console (${ANIMATE_FPS} fps)`);
    const anim = await stack.addConsole('bench-frames-anim', ANIMATE_FPS);
    const animCg = await cgroupOf(anim);
    const viewerRuns: FrameRun[] = [];
    for (let r = 1; r <= runs; r++) {
      log(`animation through the viewer: run ${r}/${runs}`);
      const page = await stack.openViewer(anim);
      try {
        await locateKvm(page, colour, 90_000);
        await sleep(SETTLE_MS);
        const m = await withCpu(animCg, stack.proxyPid, () => countFrames(page, windowMs));
        const perSec = (n: number): number => round((n / m.value.ms) * 1000, 1);
        viewerRuns.push({
          fps: perSec(m.value.distinct),
          sourceFps: perSec(m.value.advanced),
          bytesPerSec: Math.round(perSec(m.value.bytes)),
          ...(m.consoleCpuPercent !== undefined ? { consoleCpuPercent: m.consoleCpuPercent } : {}),
          proxyCpuPercent: m.proxyCpuPercent,
        });
        if (m.value.torn)
          results.notes!.push(
            `viewer run ${r}: ${m.value.torn} of ${m.value.flips} canvas updates showed a counter caught between two frames (not counted)`,
          );
      } finally {
        await page.close();
      }
    }
    results.viewer = summary(viewerRuns);
    const directRuns: FrameRun[] = [];
    for (let r = 1; r <= runs; r++) {
      log(`animation straight at x11vnc: run ${r}/${runs}`);
      const w = await RfbWatch.connect(anim.endpoint, anim.vncPassword);
      try {
        await w.locate(colour, 60_000);
        await sleep(SETTLE_MS);
        const m = await withCpu(animCg, stack.proxyPid, () => w.countFrames(windowMs));
        const perSec = (n: number): number => round((n / m.value.ms) * 1000, 1);
        directRuns.push({
          fps: perSec(m.value.distinct),
          sourceFps: perSec(m.value.advanced),
          ...(m.consoleCpuPercent !== undefined ? { consoleCpuPercent: m.consoleCpuPercent } : {}),
        });
      } finally {
        w.close();
      }
    }
    results.direct = summary(directRuns);
  } catch (err) {
    results.notes!.push(`stopped early: ${(err as Error).message.split('\n')[0]}`);
    log(`stopped early: ${(err as Error).stack ?? String(err)}`);
  } finally {
    log('stopping the consoles');
    await stack.close();
  }
  results.loadAverage!.end = round(loadavg()[0]!, 1);
  return results;
}
