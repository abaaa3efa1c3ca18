/** The keystroke and frame sections of docs/benchmarks.md (generated from bench/results.json). */
import type { FrameSummary, FramesResults, KeyCondition, KeysResults, LatencySummary } from './interactive-results.js';

const ms = (s: LatencySummary | undefined): string => (s ? `${s.p50.toFixed(0)} / ${s.p99.toFixed(0)}` : '–');
const kib = (b: number | undefined): string =>
  b === undefined ? '–' : `${(b / 1024).toFixed(b < 10 * 1024 ? 1 : 0)} KiB/s`;
const pct = (v: number | undefined): string => (v === undefined ? '–' : `${v.toFixed(1)} %`);

function keyRow(what: string, c: KeyCondition | undefined, target: boolean): string {
  const t = c?.total;
  const goal = target
    ? `p50 <= 50, p99 <= 120: ${t ? (t.p50 <= 50 && t.p99 <= 120 ? 'met' : '**missed**') : 'not measured'}`
    : '';
  return `| ${what} | ${t ? `${t.keys} (${t.runs} runs${t.lost ? `, ${t.lost} lost` : ''})` : '–'} | ${ms(t)} | ${ms(c?.toHost)} | ${ms(c?.hostToDrawn)} | ${ms(c?.drawnToScreen)} | ${goal} |`;
}

function loadLine(l: { start: number; end: number } | undefined): string {
  return `1-minute load average ${l?.start ?? '?'} at the start, ${l?.end ?? '?'} at the end (2 cores, shared with other work while measured: the numbers are noisy).`;
}

export function keysSection(k: KeysResults | undefined, quick: boolean | undefined): string {
  if (!k) return '## Keystroke → glyph\n\nNot measured in this run (`npm run bench -- --only keys`).\n';
  if (k.skipped) return `## Keystroke → glyph\n\nSkipped: ${k.skipped}\n`;
  const lines = [
    `## Keystroke → glyph (${quick ? 'quick run' : 'full run'})`,
    '',
    loadLine(k.loadAverage),
    `The console's ${k.x11vnc ?? 'x11vnc settings: not read'}.`,
    '',
    '| path | keys | keydown → glyph p50 / p99 (ms) | keydown → the emulator has the key | → the KVM page drew it | → the glyph on the canvas | target |',
    '|---|---|---|---|---|---|---|',
    keyRow('our viewer page → proxy → x11vnc → console Chromium → KVM page, one console', k.viewer, true),
    keyRow('baseline: a VNC client straight at x11vnc (no proxy, no viewer page)', k.direct, false),
    keyRow(
      `our viewer page, with ${k.viewerLoaded?.othersStarted ?? '?'} of ${k.viewerLoaded?.others ?? '?'} other consoles running and watched`,
      k.viewerLoaded,
      true,
    ),
  ];
  const runs = (what: string, c: KeyCondition | undefined): void => {
    if (c?.total.runP50s.length)
      lines.push(`${what}: per-run p50 (ms) ${c.total.runP50s.map((v) => v.toFixed(0)).join(', ')}.`);
  };
  lines.push(
    '',
    'Each key is timed in the viewer page (keydown, before noVNC sees it -> the first copy to its visible canvas that changes',
    "the KVM screen's typed line) and split where the emulator's KVM socket receives it and where the KVM page, after",
    'redrawing, reaches its next animation frame (wall clocks of the same machine). Each column is a percentile of its own',
    'part, so they do not add up exactly. The baseline types through a VNC client straight at x11vnc and reads the same',
    "line from its framebuffer; the difference is the proxy's and the viewer page's share. Other consoles are watched by",
    'VNC clients straight at x11vnc asking for every change (they load the consoles, not the proxy).',
    '',
  );
  runs('Through the viewer', k.viewer);
  runs('Straight at x11vnc', k.direct);
  runs('Through the viewer, other consoles watched', k.viewerLoaded);
  if (k.notes?.length) lines.push('', ...k.notes.map((n) => `- ${n}`));
  return `${lines.join('\n')}\n`;
}

function frameRow(what: string, f: FrameSummary | undefined): string {
  return `| ${what} | ${f ? `${f.fps.toFixed(1)} (of ${f.sourceFps.toFixed(1)} drawn)` : '–'} | ${kib(f?.bytesPerSec)} | ${pct(f?.consoleCpuPercent)} | ${pct(f?.proxyCpuPercent)} | ${f?.runs.length ?? 0} |`;
}

export function framesSection(f: FramesResults | undefined, quick: boolean | undefined): string {
  if (!f) return '## Frames from a moving screen\n\nNot measured in this run (`npm run bench -- --only frames`).\n';
  if (f.skipped) return `## Frames from a moving screen\n\nSkipped: ${f.skipped}\n`;
  const i = f.idleViewer;
  const lines = [
    `## Frames from a moving screen (${quick ? 'quick run' : 'full run'})`,
    '',
    loadLine(f.loadAverage),
    `The console's ${f.x11vnc ?? 'x11vnc settings: not read'}. The KVM page redraws the whole screen at ${f.animateFps ?? '?'} fps.`,
    '',
    '| client | distinct frames/s (KVM page drew) | bytes/s to the client | console CPU (% of a core) | proxy CPU | runs |',
    '|---|---|---|---|---|---|',
    frameRow('our viewer page through the proxy', f.viewer),
    frameRow('baseline: a VNC client straight at x11vnc (Raw encoding)', f.direct),
    `| our viewer page, the text console (clock once a second) | – | ${kib(i?.bytesPerSec)} | ${pct(i?.consoleCpuPercent)} | ${pct(i?.proxyCpuPercent)} | ${i?.runs ?? 0} |`,
  ];
  const runs = (what: string, s: FrameSummary | undefined): void => {
    if (s?.runs.length) lines.push(`${what}: frames/s per run ${s.runs.map((r) => r.fps.toFixed(1)).join(', ')}.`);
  };
  const wait = /-wait (\d+)/.exec(f.x11vnc ?? '')?.[1];
  lines.push(
    '',
    'The KVM page draws a frame counter (16 black or white cells) with each frame; a client counts the distinct values its',
    'canvas (or framebuffer) shows. "Drawn" is how far the counter advanced in the window: the frames the console made.',
    `${wait ? `x11vnc's own ceiling: -wait ${wait} is at most ${Math.floor(1000 / Number(wait))} screen polls a second, and each poll that finds changes sends at most one frame (measured from 3 s after the client connected: before, the image's preload has x11vnc poll every 20 ms). ` : ''}Console CPU is the container's cgroup (Xvfb, x11vnc, Chromium); proxy CPU is its process.`,
    '',
  );
  runs('Through the viewer', f.viewer);
  runs('Straight at x11vnc', f.direct);
  if (f.notes?.length) lines.push('', ...f.notes.map((n) => `- ${n}`));
  return `${lines.join('\n')}\n`;
}
