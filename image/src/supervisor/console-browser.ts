/**
 * The kiosk browser: Chromium on the display, its one page, and the console app's session in that page. A crashed
 * renderer costs a new page, a dead browser a new launch (after its backoff, which the coordinator keeps); an app
 * that needs other launch flags than the running browser has (certificate trust) gets a fresh browser.
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext } from '../cdp/browser.js';
import type { Page } from '../cdp/page.js';
import { evaluateQuietly } from '../../vendor-scripts/lib/quiet.js';
import {
  replaceStatusStep,
  statusPageHtml,
  STEP_OVERLAY_FUNCTION,
  STEP_OVERLAY_WAKE,
  stepOverlayInitScript,
} from '../status-page/status-page.js';
import { launchChromium } from './chromium.js';
import { sleep, type BrowserArgs, type BrowserSession, type ConsoleApp } from './console-app.js';
import type { DisplaySettings } from './display-stack.js';
import type { KvmDemand } from './kvm-demand.js';
import type { ChildHost } from './supervisor-state.js';
import type { RunningXvfb } from './xvfb.js';

/** What the browser needs from the coordinator beyond a child's reporting: the app and who the console is for. */
export interface BrowserHost extends ChildHost {
  /** The app to run now (it changes when a node is assigned). */
  app(): ConsoleApp;
  demand(): KvmDemand;
  /** "node <uuid> - <address>" for the status page, when known. */
  subject(): { subject?: string };
  /** Where the current node's BMC is, so a browser launched earlier can be asked whether it trusts it. */
  trust(): TrustQuestion;
}

/**
 * absent: none (not launched yet, or lost and waiting for its backoff); launching: Chromium is starting;
 * running: a browser with a page in which the app's session runs.
 */
export type BrowserState = 'absent' | 'launching' | 'running';

interface Browser {
  context: BrowserContext;
  page: Page;
  abort: AbortController;
  pid: number | undefined;
  /** The app's flags it was launched with: a node assigned later may need others (certificate trust). */
  extraArgs: string[];
  /** The app session running in `page`. */
  view?: PageView;
}

/** The page an app session draws on, and the signal that ends the session. */
interface PageView {
  page: Page;
  abort: AbortController;
  /**
   * Our status page (with a step) is what the page shows, or is being drawn: a new step only replaces the heading's
   * text once it is there.
   */
  statusDrawn?: Promise<void>;
}

export interface TrustQuestion {
  address?: string;
  /** verify_ca names a CA bundle (which the running browser may not have taken up). */
  caBundle: boolean;
  /** verify_ca false on an https BMC: the browser needs a certificate pin, a launch flag. */
  pinned: boolean;
}

export class ConsoleBrowser {
  private browser: Browser | undefined;
  private launching = false;
  private launches = 0;
  /** Profiles of earlier launches, deleted once a launch is ready. */
  private readonly oldProfiles: string[] = [];
  private step: string | null = 'Starting';
  /** Flags computed for the app of the next launch (by an assignment that needs a fresh browser). */
  private nextLaunch: { app: ConsoleApp; extraArgs: string[]; failure?: Error } | undefined;
  /** Flags being computed for the app of the first launch while the display starts (prepare). */
  private prepared: { app: ConsoleApp; args: BrowserArgs } | undefined;

  constructor(
    private readonly host: BrowserHost,
    private readonly display: DisplaySettings,
    private readonly runtimeDir: string,
    private readonly sandbox: boolean,
    /** Called when a browser is dropped and the next one should launch without waiting for a death. */
    private readonly poke: () => void,
  ) {}

  /** The browser's HOME: its NSS database holds a CA bundle imported for the BMC. */
  private get home(): string {
    return join(this.runtimeDir, 'home');
  }

  get state(): BrowserState {
    return this.browser ? 'running' : this.launching ? 'launching' : 'absent';
  }

  /**
   * Starts computing the current app's flags for the first launch now (a certificate pin is a TLS handshake and
   * Redfish lookups on the BMC), so that they are ready when the display is.
   */
  prepare(): void {
    const app = this.host.app();
    mkdirSync(this.home, { recursive: true });
    const args = app.browserArgs(this.home, this.host.log);
    args.all.catch(() => undefined); // the launch reports it
    this.prepared = { app, args };
  }

  /** Launches a browser on `xvfb` if there is none; `current` tells whether `xvfb` is still the display. */
  async ensure(xvfb: RunningXvfb, current: () => boolean): Promise<void> {
    if (this.state !== 'absent') return;
    this.launching = true;
    try {
      while ((await this.launch(xvfb, current)) === 'again');
    } finally {
      this.launching = false;
    }
  }

  /**
   * A node was assigned: its app takes the running page over when it needs the same flags (the system's trust
   * store, or a CA bundle the running browser has taken up), else a fresh browser is launched with its flags.
   * Without a running browser nothing is to do: the one starting asks the new app for its flags itself.
   */
  async appChanged(): Promise<void> {
    const b = this.browser;
    if (b) await this.switchApp(b);
  }

  private async switchApp(browser: Browser): Promise<void> {
    const app = this.host.app();
    if (this.host.trust().pinned && browser.extraArgs.length === 0) {
      // A browser launched without flags (a pooled console's) has no pin: it is dropped at once, so that its
      // teardown overlaps the pin's lookup (a TLS handshake and Redfish), which the fresh launch makes itself.
      this.host.log.info('the node needs other browser flags (certificate trust): launching a fresh browser');
      if (this.dropBrowser(browser, 'kill')) this.poke();
      return;
    }
    let extraArgs: string[] = [];
    let failure: Error | undefined;
    try {
      extraArgs = await app.browserArgs(this.home, this.host.log).all;
    } catch (err) {
      failure = err as Error;
    }
    if (this.browser !== browser || this.host.app() !== app) return;
    const sameFlags = !failure && sameArgs(extraArgs, browser.extraArgs);
    // A CA bundle has just gone into the NSS database (browserArgs). Chromium opens that database at its first TLS
    // verification, which a waiting console has not made, so the running browser usually trusts the bundle; it is
    // asked, since a browser that opened the database earlier would not see the import.
    const trust = this.host.trust();
    const address = trust.address;
    const keep =
      sameFlags &&
      (!trust.caBundle || (address !== undefined && (await trustsOrigin(browser.page, new URL(address).origin))));
    if (this.browser !== browser || this.host.app() !== app) return;
    if (keep) {
      this.runApp(browser, browser.page);
      return;
    }
    this.host.log.info(
      sameFlags
        ? 'the running browser does not trust the BMC with the CA bundle: launching a fresh browser'
        : 'the node needs other browser flags (certificate trust): launching a fresh browser',
    );
    this.nextLaunch = { app, extraArgs, ...(failure ? { failure } : {}) };
    // The browser of the app before (a pooled console's, waiting for its node) holds no BMC session: it is killed,
    // not closed, so that its shutdown does not take the CPU the fresh browser's launch needs.
    if (this.dropBrowser(browser, 'kill')) this.poke();
  }

  /** 'again': the flags it started on were not all the app's (another KVM port's pin); launch once more. */
  private async launch(xvfb: RunningXvfb, current: () => boolean): Promise<'again' | undefined> {
    const host = this.host;
    const home = this.home;
    // A fresh profile per launch, like Ironic: no stale sessions, cookies or crash bubbles. A new directory, not the
    // old one emptied: the old browser may still be closing into it, and deleting thousands of files would hold up
    // the launch; the old ones go in the background once this launch is ready.
    const profile = join(this.runtimeDir, `profile-${++this.launches}`);
    if (this.launches > 1) this.oldProfiles.push(join(this.runtimeDir, `profile-${this.launches - 1}`));
    mkdirSync(home, { recursive: true });
    const app = host.app();
    let launchFailure: Error | undefined;
    let extraArgs: string[] = [];
    const planned = this.nextLaunch?.app === app ? this.nextLaunch : undefined;
    const prepared = this.prepared?.app === app ? this.prepared.args : undefined;
    this.nextLaunch = undefined;
    this.prepared = undefined;
    // The flags still being completed while this launch runs (another KVM port's pin): when they come out different,
    // the launch is called off, or the browser killed, and the next one has them.
    let pending: Promise<string[]> | undefined;
    if (planned) {
      extraArgs = planned.extraArgs;
      launchFailure = planned.failure;
    } else {
      const args = prepared ?? app.browserArgs(home, host.log);
      try {
        extraArgs = await args.first;
        if (args.all !== args.first) pending = args.all;
      } catch (err) {
        launchFailure = err as Error;
      }
    }
    const calledOff = new AbortController();
    let others: string[] | undefined;
    const otherFlags = pending?.then(
      (all) => {
        if (sameArgs(all, extraArgs)) return;
        others = all;
        calledOff.abort();
      },
      () => undefined, // fails only as `first` did
    );
    const again = (): 'again' => {
      host.log.info('another port of the BMC needs a certificate pin too: launching the browser again with it');
      this.nextLaunch = { app, extraArgs: others ?? extraArgs };
      return 'again';
    };
    let context: BrowserContext;
    try {
      context = await launchChromium(
        {
          display: xvfb.display,
          width: this.display.width,
          height: this.display.height,
          sandbox: this.sandbox,
          extraArgs,
          debug: this.display.debug,
        },
        profile,
        home,
        calledOff.signal,
      );
    } catch (err) {
      if (others) return again();
      host.log.error({ err: (err as Error).message.split('\n')[0] }, 'Chromium failed to start');
      host.died('chromium', 'launch failed');
      return;
    }
    if (host.stopping() || !current()) {
      await context.close().catch(() => undefined);
      return;
    }
    // Launched before the lookup ended (it has a deadline): the app starts only on a browser with all its flags.
    await otherFlags;
    if (others) {
      await context.browser().kill();
      return again();
    }
    const page = context.pages()[0] ?? (await context.newPage());
    const browser: Browser = {
      context,
      page,
      abort: new AbortController(),
      pid: context.browser().pid,
      extraArgs,
    };
    this.browser = browser;
    host.started('chromium');
    host.state.chromiumPid = browser.pid;
    host.log.info({ child: 'chromium', childPid: browser.pid }, 'Chromium ready');
    // The old profiles go once this browser is up, so that deleting them does not slow the launch.
    if (this.oldProfiles.length)
      spawn('rm', ['-rf', ...this.oldProfiles.splice(0)], { stdio: 'ignore' })
        .on('error', () => undefined)
        .unref();
    host.changed();
    context.on('close', () => this.lostBrowser(browser, 'browser closed'));

    // Two round trips at once: right after a launch Chromium answers slowly, and the app waits for both.
    await Promise.all([
      context.exposeFunction(STEP_OVERLAY_FUNCTION, () => this.step),
      context.addInitScript(stepOverlayInitScript),
    ]);
    this.watchPage(browser, page);
    // A node assigned while this browser launched for the waiting app: its app decides whether the flags fit.
    if (host.app() !== app) void this.switchApp(browser);
    else this.runApp(browser, page, launchFailure);
  }

  /** The browser process is gone (or unusable): drop it; the coordinator launches a new one after the backoff. */
  private lostBrowser(browser: Browser, how: string): void {
    if (this.dropBrowser(browser)) this.host.died('chromium', how);
  }

  /** Ends the app session in `browser` and closes (or kills) it, if it is still the current one; false if not. */
  private dropBrowser(browser: Browser, end: 'close' | 'kill' = 'close'): boolean {
    if (this.browser !== browser) return false;
    this.browser = undefined;
    this.host.state.chromiumPid = undefined;
    browser.abort.abort();
    void (end === 'kill' ? browser.context.browser().kill() : browser.context.close()).catch(() => undefined);
    return true;
  }

  /** The page's events, once per page (an assigned node's app runs in the page the waiting app had). */
  private watchPage(browser: Browser, page: Page): void {
    // Any navigation of the page (a vendor script's BMC page, or about:blank again) leaves our status page behind.
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame() && browser.view?.page === page) browser.view.statusDrawn = undefined;
    });
    // A dead renderer costs a new page in the same browser, not a new browser: the browser process,
    // its profile and the certificate trust all survive.
    page.on('crash', () => void this.reopenPage(browser, page));
    page.on('close', () => browser.page === page && this.lostBrowser(browser, 'page closed'));
  }

  /** Runs the app in `page` of the running browser until the page or the browser goes; ends the session before. */
  private runApp(browser: Browser, page: Page, launchFailure?: Error): void {
    const host = this.host;
    browser.abort.abort();
    const abort = new AbortController();
    browser.page = page;
    browser.abort = abort;
    const view: PageView = { page, abort };
    browser.view = view;
    const app = host.app();
    const session: BrowserSession = {
      context: browser.context,
      page,
      signal: abort.signal,
      log: host.log,
      status: (step, opts) => this.showStatus(view, step, opts?.resting ?? false),
      fail: (cause, hint, details) => this.showFailure(view, cause, hint, details),
      demand: host.demand(),
      relaunch: () => {
        if (this.dropBrowser(browser)) this.poke();
      },
      ...(launchFailure ? { launchFailure } : {}),
    };
    void app
      .run(session)
      .catch((err: unknown) => host.log.error({ err: (err as Error).message }, 'console app failed'));
  }

  private async reopenPage(browser: Browser, crashed: Page): Promise<void> {
    const host = this.host;
    if (host.stopping() || this.browser !== browser || browser.page !== crashed) return;
    host.log.warn({ child: 'chromium' }, 'the page crashed (renderer died); reopening it in the running browser');
    browser.abort.abort();
    let page: Page;
    try {
      page = await browser.context.newPage();
    } catch (err) {
      host.log.warn({ err: (err as Error).message.split('\n')[0] }, 'cannot open a new page');
      return this.lostBrowser(browser, 'page crashed');
    }
    if (host.stopping() || this.browser !== browser) {
      await page.close().catch(() => undefined);
      return;
    }
    this.watchPage(browser, page);
    this.runApp(browser, page);
    await crashed.close().catch(() => undefined);
  }

  private async showStatus(b: PageView, step: string | null, resting = false): Promise<void> {
    const host = this.host;
    this.step = step;
    host.state.step = step;
    host.state.error = undefined;
    host.changed();
    if (step !== null) host.log.info({ step }, 'status');
    // On our own page, redraw it; on a BMC page (or a KVM popup a vendor script adopted) the overlay asks for the
    // step, woken if it had stopped asking (no user gesture: a page woken for its overlay must not get a user
    // activation from it).
    if (step === null || b.page.url() !== 'about:blank' || b.abort.signal.aborted) {
      b.statusDrawn = undefined;
      if (step !== null && !b.abort.signal.aborted)
        for (const p of b.page.context().pages()) void evaluateQuietly(p, STEP_OVERLAY_WAKE).catch(() => undefined);
      return;
    }
    // Nobody waits for a step: the steps before the KVM are on the critical path of a start. The page is drawn once
    // (a new document, until "load": ~20 ms after a fresh launch); each later step is one text change after it.
    // The change looks for our page's heading, so if a vendor script has navigated meanwhile it touches nothing.
    const page = b.page;
    b.statusDrawn = b.statusDrawn
      ? b.statusDrawn
          .then(() => page.evaluate(replaceStatusStep, { step, resting }))
          .then(
            () => undefined,
            () => undefined,
          )
      : page.setContent(statusPageHtml({ step, resting, ...host.subject() })).catch(() => undefined);
  }

  private async showFailure(b: PageView, cause: string, hint: string, details?: string[]): Promise<void> {
    const host = this.host;
    b.statusDrawn = undefined;
    host.state.error = cause;
    host.changed();
    if (b.abort.signal.aborted) return;
    await b.page
      .goto('about:blank')
      .then(() =>
        b.page.setContent(
          statusPageHtml({
            step: this.step && this.step !== 'Starting' ? this.step : '',
            error: cause,
            hint,
            ...(details ? { details } : {}),
            ...host.subject(),
          }),
        ),
      )
      .catch((err: unknown) => host.log.warn({ err: (err as Error).message }, 'cannot show the failure page'));
  }

  /** Closes the browser: politely (`graceMs`), then SIGKILL. The app has closed its BMC session before. */
  async stop(graceMs = 1500): Promise<void> {
    const b = this.browser;
    this.browser = undefined;
    this.host.state.chromiumPid = undefined;
    if (!b) return;
    b.abort.abort();
    await withTimeout(b.context.close(), graceMs).catch(() => undefined);
    if (b.pid) {
      try {
        process.kill(b.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      // node reaps it; wait (briefly) until it has, so no Chromium outlives the supervisor.
      for (let i = 0; i < 10 && pidExists(b.pid); i++) await sleep(50);
    }
  }
}

/**
 * Whether `page`'s browser completes a TLS connection to `origin` (any HTTP answer will do; the body is opaque to
 * a no-cors fetch). False on a certificate error, an unreachable BMC or after 5 s.
 */
async function trustsOrigin(page: Page, origin: string): Promise<boolean> {
  const probe = async (url: string) => {
    try {
      await fetch(url, { mode: 'no-cors', cache: 'no-store', credentials: 'omit', signal: AbortSignal.timeout(5000) });
      return true;
    } catch {
      return false;
    }
  };
  return page.evaluate(probe, `${origin}/`).catch(() => false);
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, sleep(ms).then(() => Promise.reject(new Error(`timed out after ${ms} ms`)))]);
}

/** Two lists of launch flags are the same flags in the same order. */
function sameArgs(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
