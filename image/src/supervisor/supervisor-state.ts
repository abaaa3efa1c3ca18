/**
 * What the supervisor publishes about itself (as JSON in the state file tests read), and what its parts need from
 * the coordinator to report a child's start or death: one place, so the display and the browser report alike.
 */
import type { Logger } from '@bmc-console/common/log';

export interface SupervisorState {
  pid: number;
  display?: string;
  /** The display's Xauthority file: a test or probe that opens the display needs its cookie. */
  xauthority?: string;
  vncPort: number;
  xvfbPid?: number;
  x11vncPid?: number;
  chromiumPid?: number;
  step?: string | null;
  error?: string;
  /** VNC viewers connected now (counted only where the KVM follows the viewers). */
  viewers?: number;
  /** Whether the BMC's KVM should be open now (a viewer watches, or the grace after the last one runs). */
  kvmWanted?: boolean;
  restarts: { xvfb: number; x11vnc: number; chromium: number };
}

/** The supervised children; each is restarted after its own backoff. */
export type ChildName = keyof SupervisorState['restarts'];

/** The coordinator, as the display stack and the browser see it. */
export interface ChildHost {
  readonly log: Logger;
  readonly state: SupervisorState;
  /** The state changed: write it out. */
  changed(): void;
  /** The console is stopping: nothing is started or restarted any more. */
  stopping(): boolean;
  /** Whether `child`'s backoff allows starting it now. */
  due(child: ChildName): boolean;
  started(child: ChildName): void;
  /** `child` is gone; it is started again after its backoff. */
  died(child: ChildName, how: string): void;
}
