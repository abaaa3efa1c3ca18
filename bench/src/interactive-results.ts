/** What the keystroke and frame benchmarks record (bench/results.json "keys" and "frames"). */

/** Milliseconds: p50 and p99 over every key of every run, and the median of each run's p50. */
export interface LatencySummary {
  keys: number;
  runs: number;
  p50: number;
  p99: number;
  runP50s: number[];
  /** Keys whose glyph did not show within the timeout (not in the percentiles). */
  lost: number;
}

export interface KeyCondition {
  /** Viewer keydown -> the canvas shows the glyph. */
  total: LatencySummary;
  /** Viewer keydown (or the baseline's send) -> the emulator's KVM socket has the key: proxy, x11vnc, X, console Chromium. */
  toHost?: LatencySummary;
  /** The emulator has the key -> the glyph on the canvas: KVM page redraw, x11vnc poll and encoding, proxy, viewer. */
  toScreen?: LatencySummary;
  /** The emulator has the key -> the KVM page's next animation frame after its redraw (the echo, console Chromium). */
  hostToDrawn?: LatencySummary;
  /** That animation frame -> the glyph on the canvas: Xvfb, x11vnc's poll, -defer and encoding, proxy, viewer. */
  drawnToScreen?: LatencySummary;
}

export interface KeysResults {
  skipped?: string;
  loadAverage?: { start: number; end: number };
  /** x11vnc's screen polling settings in the image (image/src/supervisor/x11vnc.ts), as read by this run. */
  x11vnc?: string;
  /** Through the proxy and our viewer page, one console running. */
  viewer?: KeyCondition;
  /** Baseline: a VNC client straight at x11vnc (no proxy, no viewer page), the same console, the same run. */
  direct?: KeyCondition;
  /** Through the viewer with `others` more consoles running, each watched by a VNC client asking for every change. */
  viewerLoaded?: KeyCondition & { others: number; othersStarted: number };
  notes?: string[];
}

export interface FrameRun {
  /** Distinct frames per second that reached the client. */
  fps: number;
  /** Frames per second the KVM page drew in the window (its counter's advance as the client saw it). */
  sourceFps: number;
  bytesPerSec?: number;
  /** The console container's CPU (all its processes: Xvfb, x11vnc, Chromium), % of one core. */
  consoleCpuPercent?: number;
  proxyCpuPercent?: number;
}

export interface FrameSummary {
  runs: FrameRun[];
  /** Medians over the runs. */
  fps: number;
  sourceFps: number;
  bytesPerSec?: number;
  consoleCpuPercent?: number;
  proxyCpuPercent?: number;
}

export interface FramesResults {
  skipped?: string;
  loadAverage?: { start: number; end: number };
  x11vnc?: string;
  /** The KVM page's requested animation rate. */
  animateFps?: number;
  /** Full-screen animation through the proxy and our viewer page. */
  viewer?: FrameSummary;
  /** Baseline: the same animation read by a VNC client straight at x11vnc (Raw encoding). */
  direct?: FrameSummary;
  /** The text console (clock redraw once a second) through the viewer: bytes/s and CPU. */
  idleViewer?: { runs: number; bytesPerSec: number; consoleCpuPercent?: number; proxyCpuPercent?: number };
  notes?: string[];
}
