/** What the console benchmarks record (bench/results.json "console"). */
export interface ConsoleResults {
  /** Set when the part did not run, with the reason (no podman, no image, ...). */
  skipped?: string;
  provider?: string;
  /** 1-minute load average at the start and end of the part (2-core machine shared with other work). */
  /** waitedSec: how long the part waited for the load to fall under the core count before its start. */
  loadAverage?: { start: number; end: number; waitedSec?: number };
  image?: string;
  emulator?: string;
  /**
   * Provider start call -> a VNC client sees the emulator's KVM canvas, seconds, one entry per run. With viewer-driven
   * sessions (issue 10) the client waits from the start on, so this is also "enable -> first picture".
   */
  startToPictureSec?: number[];
  startToPictureMedianSec?: number;
  /** Median seconds from the start call to each supervisor step (from its JSON log), in order of appearance. */
  steps?: { step: string; medianSec: number }[];
  /**
   * The same start -> picture with the provider's pool (container_pool_size 1): the start takes a console that is
   * already running and warm, renames it and assigns it the node. Steps are from the start call.
   */
  pooled?: PooledStarts;
  /** The same with a node whose verify_ca is a CA bundle: the pooled console keeps its running Chromium. */
  pooledCaBundle?: PooledStarts;
  /** Per console with the KVM page showing, from the container's cgroup (v1). */
  memoryPerConsoleMiB?: { usage: number; rss: number; cache: number; consoles: number };
  idleCpuPercentPerConsole?: number;
  density?: {
    goal: number;
    started: number;
    live: number;
    visible: number;
    responsive: number;
    stoppedBecause?: string;
    hostMemoryUsedMiB?: number;
  };
  /** Issue 10: enable -> first picture with a viewer waiting; viewer connect -> KVM after release. */
  viewerDriven?: {
    /** Median of startToPictureSec: a viewer is waiting from the start call on. */
    enableToFirstPictureSec?: number;
    /** A new VNC client's connect -> KVM marker on screen, after the KVM was released (median, and per run). */
    connectAfterReleaseSec?: number;
    connectAfterReleaseRunsSec?: number[];
    /** Last viewer left -> the emulator has no live KVM session (the KVM_RELEASE_AFTER grace plus closing), median. */
    releaseAfterLastViewerSec?: number;
    note?: string;
  };
  notes?: string[];
}

/** Start -> picture through the provider's pool (container_pool_size 1). */
export interface PooledStarts {
  startToPictureSec: number[];
  startToPictureMedianSec?: number;
  steps: { step: string; medianSec: number }[];
}
