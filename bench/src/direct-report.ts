import type { DirectResults, StartSeries } from './direct-results.js';

const fmt = (v: number | undefined, digits = 3): string =>
  v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits);

function seriesName(s: StartSeries): string {
  if (s.mode === 'container') return `container ${s.profile} (provider start call)`;
  return `direct ${s.profile} (${s.agentStart ? 'agent start call' : 'viewer connect'})`;
}

/** The generated "Direct consoles" section of docs/benchmarks.md (issue 28). */
export function directSection(d: DirectResults | undefined, quick: boolean | undefined): string {
  if (!d) return '## Direct consoles\n\nNot measured in this run (`npm run bench -- --only direct`).\n';
  if (d.skipped) return `## Direct consoles\n\nSkipped: ${d.skipped}\n`;
  const starts = d.starts ?? [];
  const container = starts.find((s) => s.mode === 'container');
  const vsContainer = (s: StartSeries): string =>
    s.mode === 'direct' && s.medianSec && container?.medianSec
      ? `${(container.medianSec / s.medianSec).toFixed(1)}x`
      : '';
  const m = d.memory;
  const den = d.density;
  const lines = [
    `## Direct consoles (${quick ? 'quick run' : 'full run'})`,
    '',
    ...(d.setup ?? []).map((s) => `- ${s}`),
    '',
    `1-minute load average: ${d.loadAverage?.start ?? '?'} at the start, ${d.loadAverage?.end ?? '?'} at the end (2 cores).`,
    '',
    '| start → first KVM picture | median (s) | runs | container median / this median |',
    '|---|---|---|---|',
    ...starts.map((s) => `| ${seriesName(s)} | ${fmt(s.medianSec)} | ${s.runsSec.length} | ${vsContainer(s)} |`),
    '',
    'Where the time goes (median seconds from the start of the run):',
    '',
    '| series | step | s |',
    '|---|---|---|',
    ...starts.flatMap((s) => s.steps.map((st) => `| ${seriesName(s)} | ${st.step} | ${fmt(st.medianSec)} |`)),
    '',
    '| memory per watched console | value |',
    '|---|---|',
    `| direct (${m?.direct?.profile ?? '–'}): proxy PSS growth / ${m?.direct?.consoles ?? '–'} watched consoles (KiB) | ${fmt(m?.direct?.perConsoleKiB, 0)} |`,
    `| direct: agent's share | none (no process or container per console) |`,
    `| container (${m?.container?.profile ?? '–'}): cgroup usage / rss / cache, median of ${m?.container?.consoles ?? 0} watched consoles (MiB) | ${m?.container ? `${fmt(m.container.usageMiB, 0)} / ${fmt(m.container.rssMiB, 0)} / ${fmt(m.container.cacheMiB, 0)}` : '–'} |`,
    `| direct / container | ${m?.ratio !== undefined ? `1/${(1 / Math.max(m.ratio, 1e-6)).toFixed(0)}` : '–'} |`,
  ];
  if (den) {
    lines.push(
      '',
      `| density: ${den.goal} direct ${den.profile} consoles, one proxy, each watched | value |`,
      '|---|---|',
      `| opened / saw the marker when opened / show the marker with all live | ${den.opened} / ${den.sawMarker} / ${den.showingMarkerAtEnd} |`,
      `| proxy CPU over ${den.windowSec} s, all watched (% of one core; per console) | ${fmt(den.proxyCpuPercent, 1)}; ${fmt(den.proxyCpuPercentPerConsole, 3)} |`,
      `| proxy PSS with all watched (MiB); growth per console (KiB) | ${fmt(den.proxyPssMiB, 1)}; ${fmt(den.proxyPssPerConsoleKiB, 0)} |`,
      `| same window: emulator fleet CPU / benchmark viewers CPU (% of one core) | ${fmt(den.fleetCpuPercent, 1)} / ${fmt(den.viewersCpuPercent, 1)} |`,
      `| updates the viewers received in the window | ${den.updatesInWindow} |`,
      `| 1-minute load average before / after the density part | ${den.loadAverage.before} / ${den.loadAverage.after} |`,
    );
    if (den.errors.length) lines.push('', ...den.errors.map((e) => `- density: ${e}`));
  }
  for (const s of starts)
    if (s.runsSec.length)
      lines.push('', `${seriesName(s)}, runs (s): ${s.runsSec.map((v) => v.toFixed(3)).join(', ')}.`);
  if (d.notes?.length) lines.push('', ...d.notes.map((n) => `- ${n}`));
  return `${lines.join('\n')}\n`;
}
