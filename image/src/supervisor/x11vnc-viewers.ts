/**
 * Counts the VNC viewers from x11vnc's own reports: its preload (image/x11vnc-preload/hooks.c) writes a
 * '+' to a pipe when a client first sends bytes (its RFB version, after the greeting) and a '-' when such a client's
 * socket is closed. Readiness probes read the greeting and close without sending, so they never count.
 * Nothing is polled: counting from the kernel's TCP tables (vnc-viewers.ts, the way without the preload) cost a
 * watched console ~0.4 % of a core, and a viewer was counted 20-90 ms after its greeting.
 */
import type { Readable } from 'node:stream';

const VIEWER_CAME = '+'.charCodeAt(0);
const VIEWER_LEFT = '-'.charCodeAt(0);

export class X11vncViewers {
  private count = 0;
  private reports: Readable | undefined;
  private onChange: ((viewers: number) => void) | undefined;

  /** The reports of a newly started x11vnc: a new process starts with no viewers. */
  follow(reports: Readable): void {
    this.reports = reports;
    this.set(0);
    reports.on('data', (chunk: Buffer) => {
      if (this.reports !== reports) return;
      let n = this.count;
      for (const byte of chunk) n += byte === VIEWER_CAME ? 1 : byte === VIEWER_LEFT ? -1 : 0;
      this.set(Math.max(0, n));
    });
  }

  /** Calls `onChange` with the count now (when there are viewers already) and at each change, until stop(). */
  watch(onChange: (viewers: number) => void): { start(): void; stop(): void } {
    return {
      start: () => {
        this.onChange = onChange;
        if (this.count > 0) onChange(this.count);
      },
      stop: () => {
        if (this.onChange === onChange) this.onChange = undefined;
      },
    };
  }

  private set(n: number): void {
    if (n === this.count) return;
    this.count = n;
    this.onChange?.(n);
  }
}
