/** What the direct-console benchmark records (bench/results.json "direct"). */
export interface DirectResults {
  /** Set when the part did not run, with the reason. */
  skipped?: string;
  /** 1-minute load average at the start and the end of the part (2-core machine shared with other work). */
  loadAverage?: { start: number; end: number };
  /** How each mode's start was timed, and what is not included. */
  setup?: string[];
  /** Start -> first KVM picture, one entry per mode and profile, runs interleaved. */
  starts?: StartSeries[];
  memory?: {
    /** The proxy process's PSS growth with `consoles` watched direct consoles, per console (after a full GC). */
    direct?: { profile: string; consoles: number; pssBeforeKiB: number; pssAfterKiB: number; perConsoleKiB: number };
    /** cgroup (v1) memory of a watched console container, median over the container runs. */
    container?: { profile: string; consoles: number; usageMiB: number; rssMiB: number; cacheMiB: number };
    /** direct per console / container usage per console. */
    ratio?: number;
  };
  density?: DirectDensity;
  notes?: string[];
}

export interface StartSeries {
  mode: 'direct' | 'container';
  profile: string;
  /** direct: timed from the agent's start call (Redfish discovery, certificate pin) rather than from the viewer. */
  agentStart: boolean;
  runsSec: number[];
  medianSec?: number;
  /** Median seconds from the start to each step. */
  steps: { step: string; medianSec: number }[];
}

export interface DirectDensity {
  profile: string;
  goal: number;
  /** Viewers whose websocket and RFB handshake succeeded. */
  opened: number;
  /** Viewers that saw the marker when opened. */
  sawMarker: number;
  /** Viewers whose full update showed the marker after all were open and settled (all live at once). */
  showingMarkerAtEnd: number;
  /** Over the measurement window, all watched: the proxy's CPU in % of one core, total and per console. */
  proxyCpuPercent: number;
  proxyCpuPercentPerConsole: number;
  /** The emulator fleet's and the benchmark viewers' CPU over the same window (context: they share the 2 cores). */
  fleetCpuPercent: number;
  viewersCpuPercent: number;
  windowSec: number;
  proxyPssMiB: number;
  proxyPssPerConsoleKiB: number;
  /** Updates the viewers received over the window (the emulator's clock ticks each second). */
  updatesInWindow: number;
  loadAverage: { before: number; after: number };
  errors: string[];
}
