/**
 * Keystroke -> glyph through the whole stack (issue 26): a key pressed in our viewer page in Chromium goes through
 * the proxy, x11vnc, the console's Chromium and the emulator's KVM page, whose redraw comes back the same way to the
 * viewer's canvas. Timed in the viewer page (keydown -> the canvas' typed line changes), split at the emulator's
 * KVM socket (it gets the key), against a VNC client straight at x11vnc in the same run, and again with other
 * watched consoles running.
 */
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Page } from 'playwright-core';
import { kvmMarkerColor } from '@bmc-console/bmc-emulator/marker';
import { kvmKeyEvents, type KvmDrawnEvent, type KvmKeyEvent } from '@bmc-console/bmc-emulator/kvm';
import type { KeyCondition, KeysResults, LatencySummary } from './interactive-results.js';
import { RfbWatch } from './rfb-watch.js';
import { median, percentile, round } from './stats.js';
import { armGlyph, locateKvm, waitGlyph } from './viewer-probe.js';
import { PROFILE, podman, stackUnavailable, ViewerStack, type LiveConsole } from './viewer-stack.js';

const log = (msg: string): void => void process.stderr.write(`bench: keys: ${msg}\n`);
const GLYPH_TIMEOUT_MS = 3000;
const OTHERS_SETTLE_MS = 15_000;
// Letters and digits only: each one adds a glyph to the typed line (no key the KVM page treats as an edit).
const CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789';

interface KeySample {
  total: number;
  toHost?: number;
  toScreen?: number;
  hostToDrawn?: number;
  drawnToScreen?: number;
}

/** Collects the emulator's key arrivals and the KVM page's redraws for one node, to split each keystroke. */
class HostArrivals {
  private readonly seen: KvmKeyEvent[] = [];
  private readonly drawn: KvmDrawnEvent[] = [];
  private readonly onKey = (e: KvmKeyEvent): void => {
    if (e.node === this.node) this.seen.push(e);
  };
  private readonly onDrawn = (e: KvmDrawnEvent): void => {
    if (e.node === this.node) this.drawn.push(e);
  };

  constructor(private readonly node: string) {
    kvmKeyEvents.on('key', this.onKey);
    kvmKeyEvents.on('drawn', this.onDrawn);
  }

  /** Splits a keystroke from `start` (keydown or send) to `glyphAt` at the emulator and the KVM page's redraw. */
  split(key: string, start: number, glyphAt: number): KeySample {
    // Clocks of different processes (ms resolution at worst): allow 1 ms of disagreement.
    const at = this.seen.find((e) => e.key === key && e.at >= start - 1)?.at;
    if (at === undefined) return { total: glyphAt - start };
    const drawnAt = this.drawn.find((e) => e.at >= at - 1 && e.at <= glyphAt + 1)?.at;
    return {
      total: glyphAt - start,
      toHost: at - start,
      toScreen: glyphAt - at,
      ...(drawnAt !== undefined ? { hostToDrawn: drawnAt - at, drawnToScreen: glyphAt - drawnAt } : {}),
    };
  }

  close(): void {
    kvmKeyEvents.off('key', this.onKey);
    kvmKeyEvents.off('drawn', this.onDrawn);
  }
}

/** Random pause between keys, so keystrokes do not fall in step with x11vnc's polling. */
const pause = (): Promise<void> => sleep(30 + Math.random() * 50);

/**
 * Types `keys` keys on one console and keeps each key's timing split by hop; `typeOne` types a key and says when it
 * was sent and when its glyph showed (null: the glyph never came, the key counts as lost).
 */
async function timedRun(
  c: LiveConsole,
  keys: number,
  samples: KeySample[][],
  lost: { n: number },
  typeOne: (ch: string) => Promise<{ sentAt: number; glyphAt: number } | null>,
): Promise<void> {
  const host = new HostArrivals(c.node);
  const run: KeySample[] = [];
  try {
    for (let i = 0; i < keys; i++) {
      const ch = CHARS[i % CHARS.length]!;
      const t = await typeOne(ch);
      if (t === null) {
        lost.n++;
        continue;
      }
      run.push(host.split(ch, t.sentAt, t.glyphAt));
      await pause();
    }
  } finally {
    host.close();
  }
  samples.push(run);
}

/** Through the viewer page: keydown in the page to the glyph on its canvas. */
function viewerRun(page: Page, c: LiveConsole, keys: number, samples: KeySample[][], lost: { n: number }) {
  return timedRun(c, keys, samples, lost, async (ch) => {
    await armGlyph(page);
    await page.keyboard.press(ch);
    const t = await waitGlyph(page, GLYPH_TIMEOUT_MS);
    return t.keyAt === null || t.glyphAt === null ? null : { sentAt: t.keyAt, glyphAt: t.glyphAt };
  });
}

/** Straight at x11vnc: the key event sent to the glyph in the client's framebuffer. */
function directRun(w: RfbWatch, c: LiveConsole, keys: number, samples: KeySample[][], lost: { n: number }) {
  return timedRun(c, keys, samples, lost, async (ch) => {
    const t = await w.keyToGlyph(ch, GLYPH_TIMEOUT_MS);
    return t.glyphAt === null ? null : { sentAt: t.sentAt, glyphAt: t.glyphAt };
  });
}

function summarise(
  runs: KeySample[][],
  pick: (s: KeySample) => number | undefined,
  lost: number,
): LatencySummary | undefined {
  const perRun = runs.map((r) => r.map(pick).filter((v): v is number => v !== undefined));
  const all = perRun.flat();
  if (!all.length) return undefined;
  return {
    keys: all.length,
    runs: runs.length,
    p50: round(percentile(all, 50), 1),
    p99: round(percentile(all, 99), 1),
    runP50s: perRun.filter((r) => r.length).map((r) => round(median(r), 1)),
    lost,
  };
}

function condition(runs: KeySample[][], lost: number): KeyCondition | undefined {
  const total = summarise(runs, (s) => s.total, lost);
  if (!total) return undefined;
  const toHost = summarise(runs, (s) => s.toHost, 0);
  const toScreen = summarise(runs, (s) => s.toScreen, 0);
  const hostToDrawn = summarise(runs, (s) => s.hostToDrawn, 0);
  const drawnToScreen = summarise(runs, (s) => s.drawnToScreen, 0);
  return {
    total,
    ...(toHost ? { toHost } : {}),
    ...(toScreen ? { toScreen } : {}),
    ...(hostToDrawn ? { hostToDrawn } : {}),
    ...(drawnToScreen ? { drawnToScreen } : {}),
  };
}

/** x11vnc's command line in a running console, from its polling options on (what the image really runs). */
export async function x11vncSettings(node: string): Promise<string | undefined> {
  const r = await podman(['top', `bmc-console-${node}`, 'args']);
  const line = r.stdout.split('\n').find((l) => /(^|\/)x11vnc\s/.test(l.trim()) || l.trim().startsWith('x11vnc '));
  if (!line) return undefined;
  const keep = new Set([
    '-wait',
    '-wait_ui',
    '-defer',
    '-nonap',
    '-noxdamage',
    '-fs',
    '-pointer_mode',
    '-input_skip',
    '-speeds',
  ]);
  const args = line.trim().split(/\s+/);
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (!keep.has(args[i]!)) continue;
    out.push(args[i]!);
    if (
      ['-wait', '-wait_ui', '-defer', '-fs', '-pointer_mode', '-input_skip', '-speeds'].includes(args[i]!) &&
      args[i + 1]
    )
      out.push(args[++i]!);
  }
  return `x11vnc ${out.join(' ')}${out.includes('-defer') ? '' : " (no -defer: x11vnc's default, 20 ms)"}`;
}

/** Opens a fresh viewer page for each run (a new proxy session), types `keys` keys, closes it. */
async function viewerRuns(
  stack: ViewerStack,
  c: LiveConsole,
  runs: number,
  keys: number,
  label: string,
): Promise<KeyCondition | undefined> {
  const colour = kvmMarkerColor(PROFILE);
  const samples: KeySample[][] = [];
  const lost = { n: 0 };
  for (let r = 1; r <= runs; r++) {
    log(`${label}: run ${r}/${runs}`);
    const page = await stack.openViewer(c);
    try {
      await locateKvm(page, colour, 90_000);
      // As a person does: click into the console first (the KVM page in the console's Chromium takes the focus).
      await page.locator('#screen canvas').first().click();
      await sleep(300);
      await viewerRun(page, c, keys, samples, lost);
    } finally {
      await page.close();
    }
  }
  return condition(samples, lost.n);
}

export async function runKeystrokeBench(quick: boolean): Promise<KeysResults> {
  const why = await stackUnavailable();
  if (why) return { skipped: why };
  const runs = quick ? 1 : 10;
  const keysPerRun = quick ? 30 : 21;
  const others = quick ? 3 : 20;
  const results: KeysResults = { loadAverage: { start: round(loadavg()[0]!, 1), end: 0 }, notes: [] };
  const stack = await ViewerStack.start('bmc-bench-keys');
  const watchers: RfbWatch[] = [];
  try {
    log('starting the measured console');
    const c = await stack.addConsole('bench-keys-0');
    results.viewer = await viewerRuns(stack, c, runs, keysPerRun, 'through the viewer');
    results.x11vnc = await x11vncSettings(c.node);

    const directSamples: KeySample[][] = [];
    const directLost = { n: 0 };
    for (let r = 1; r <= runs; r++) {
      log(`straight at x11vnc: run ${r}/${runs}`);
      const w = await RfbWatch.connect(c.endpoint, c.vncPassword);
      try {
        await w.locate(kvmMarkerColor(PROFILE), 60_000);
        await directRun(w, c, keysPerRun, directSamples, directLost);
      } finally {
        w.close();
      }
    }
    const direct = condition(directSamples, directLost.n);
    if (direct) results.direct = direct;

    // Other consoles, each watched by a client that asks for every change (as a viewer does), started 4 at a time.
    let started = 0;
    for (let i = 0; i < others; i += 4) {
      const batch = Array.from({ length: Math.min(4, others - i) }, (_, k) => `bench-keys-${i + k + 1}`);
      log(`starting other consoles ${i + 1}-${i + batch.length} of ${others}`);
      const got = await Promise.allSettled(
        batch.map(async (node) => {
          const o = await stack.addConsole(node);
          const w = await RfbWatch.connect(o.endpoint, o.vncPassword);
          watchers.push(w);
          await w.locate(kvmMarkerColor(PROFILE), 90_000);
        }),
      );
      for (const g of got) {
        if (g.status === 'fulfilled') started++;
        else
          results.notes!.push(
            `another console did not start or show its KVM: ${(g.reason as Error).message.split('\n')[0]}`,
          );
      }
    }
    // The consoles' Chromium start-up and first KVM pictures are not the steady state being measured.
    log(`settling ${OTHERS_SETTLE_MS / 1000} s`);
    await sleep(OTHERS_SETTLE_MS);
    const loaded = await viewerRuns(
      stack,
      c,
      runs,
      keysPerRun,
      `through the viewer, ${started} other watched consoles`,
    );
    if (loaded) results.viewerLoaded = { ...loaded, others, othersStarted: started };
  } catch (err) {
    results.notes!.push(`stopped early: ${(err as Error).message.split('\n')[0]}`);
    log(`stopped early: ${(err as Error).stack ?? String(err)}`);
  } finally {
    for (const w of watchers) w.close();
    log('stopping the consoles');
    await stack.close();
  }
  results.loadAverage!.end = round(loadavg()[0]!, 1);
  return results;
}
