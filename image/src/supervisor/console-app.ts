import type { BrowserContext } from '../cdp/browser.js';
import type { Page } from '../cdp/page.js';
import type { Logger } from '@bmc-console/common/log';
import type { KvmDemand } from './kvm-demand.js';

/** What the supervisor shows in the browser: the fake test console, an error screen, or a BMC's KVM. */
export interface ConsoleApp {
  /** Chromium flags this app needs at launch (certificate trust); may fail with a ConsoleFailure. */
  browserArgs(home: string, log: Logger): BrowserArgs;
  /**
   * Runs the app in a freshly launched browser until `signal` aborts: open, watch, reopen after a
   * session loss. Must not throw; failures go on the screen.
   */
  run(session: BrowserSession): Promise<void>;
  /** Ends the session cleanly (a vendor KVM session closed, logged out). Must not throw. */
  close(): Promise<void>;
  /**
   * The KVM is wanted now (a viewer connected, or KVM_RELEASE_AFTER=always), perhaps before the browser is up:
   * an app may start the work that needs no browser (Redfish discovery) so that run() finds it done. Must not throw.
   */
  kvmWanted?(log: Logger): void;
}

/**
 * An app's launch flags. `all` are the flags; `first` may come sooner with part of them (a certificate pin of the
 * BMC's web port while its other KVM ports are looked up in Redfish): a browser may start on them, and is launched
 * again when `all` differs. Both fail alike (the web port's certificate could not be fetched).
 */
export interface BrowserArgs {
  first: Promise<string[]>;
  all: Promise<string[]>;
}

/** Flags known at once, or computed in one go. */
export function browserArgsOf(args: string[] | Promise<string[]>): BrowserArgs {
  const all = Promise.resolve(args);
  return { first: all, all };
}

export interface BrowserSession {
  context: BrowserContext;
  page: Page;
  signal: AbortSignal;
  log: Logger;
  /**
   * Shows a step: on the status page, or in the overlay while a BMC page is shown. null = hide the overlay.
   * resting: a state the console stays in (no spinner, which Chromium would keep drawing).
   */
  status(step: string | null, opts?: { resting?: boolean }): Promise<void>;
  /** Shows a failure screen with its cause and what to check. */
  fail(cause: string, hint: string, details?: string[]): Promise<void>;
  /** Asks the supervisor for a fresh browser (e.g. new certificate flags). */
  relaunch(): void;
  /** When the BMC's KVM should be open (someone watches over VNC); apps that hold no BMC session ignore it. */
  demand: KvmDemand;
  /** Failure set at launch (e.g. fetching the BMC certificate failed). */
  launchFailure?: Error;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
