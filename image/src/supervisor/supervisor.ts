/**
 * `bmc-console run`: keeps Xvfb, x11vnc and Chromium running and the console app on screen.
 * One loop starts whatever is missing; each child's death is noticed, and it is started again after a
 * backoff. Xvfb's death takes the other two with it (they belong to its display).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:net';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { ConsoleEnvError, CONSOLE_DEFAULTS, describeAppInfo, parseConsoleEnv, type ConsoleEnv } from '@bmc-console/common/console-env';
import type { Logger } from '@bmc-console/common/log';
import { replaceStatusStep, statusPageHtml, STEP_OVERLAY_FUNCTION, stepOverlayInitScript } from '../status-page/status-page.js';
import { Backoff } from './backoff.js';
import { findBrowserPid, launchChromium } from './chromium.js';
import type { Child } from './child-process.js';
import { sleep, type BrowserSession, type ConsoleApp } from './console-app.js';
import { listenForAssignment, type Assignment } from './assignment.js';
import { errorApp, fakeApp, waitingApp } from './fake-app.js';
import { KvmDemand } from './kvm-demand.js';
import { VncViewers } from './vnc-viewers.js';
import { startX11vnc, waitForRfb, writePasswordFile } from './x11vnc.js';
import { writeXauthority } from './xauthority.js';
import { startXvfb, type RunningXvfb } from './xvfb.js';

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

export interface SupervisorOptions {
  env: Record<string, string | undefined>;
  log: Logger;
  /** Working directory for the profile, password file and HOME of the browser; a fresh temp dir by default. */
  runtimeDir?: string;
  /** Where to write SupervisorState as JSON on every change (tests read pids from it). */
  stateFile?: string;
  /** Builds the app for APP=redfish-graphical (loaded lazily: the fake app needs none of it). */
  redfishApp?: (env: ConsoleEnv) => Promise<ConsoleApp>;
}

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
  /** Our status page (with a step) is what the page shows: a new step only replaces the heading's text. */
  statusShown?: boolean;
}

type Name = 'xvfb' | 'x11vnc' | 'chromium';

export class Supervisor {
  readonly state: SupervisorState;
  private readonly log: Logger;
  private readonly runtimeDir: string;
  /** The display's cookie file: Xvfb admits only x11vnc and Chromium, which are given it. */
  private readonly xauthority: string;
  private env: ConsoleEnv | undefined;
  private app!: ConsoleApp;
  private display: { width: number; height: number; readOnly: boolean; vncPort: number; vncPassword?: string; debug: boolean };
  private xvfb: RunningXvfb | undefined;
  private x11vnc: Child | undefined;
  private browser: Browser | undefined;
  private browserStarting = false;
  private stopping = false;
  private wake: (() => void) | undefined;
  private readonly notBefore: Record<Name, number> = { xvfb: 0, x11vnc: 0, chromium: 0 };
  private readonly backoff: Record<Name, Backoff> = { xvfb: new Backoff(), x11vnc: new Backoff(), chromium: new Backoff() };
  private step: string | null = 'Starting';
  private loopDone: Promise<void> | undefined;
  private readonly sandbox: boolean;
  private demand: KvmDemand = new KvmDemand('always');
  private viewers: VncViewers | undefined;
  private readonly probePorts = new Set<number>();
  /** AWAIT_APP_INFO: the node has not been assigned yet; `bmc-console assign` talks to this server. */
  private assignServer: Server | undefined;
  private awaitingNode = false;
  /** Browsers dropped while still closing: a new launch must not take one of them for its own process. */
  private readonly closingPids = new Set<number>();
  private launches = 0;
  /** Flags computed for the app of the next launch (by an assignment that needs a fresh browser). */
  private nextLaunch: { app: ConsoleApp; extraArgs: string[]; failure?: Error } | undefined;

  constructor(private readonly opts: SupervisorOptions) {
    this.log = opts.log;
    this.runtimeDir = opts.runtimeDir ?? mkdtempSync(join(tmpdir(), 'bmc-console-'));
    mkdirSync(this.runtimeDir, { recursive: true, mode: 0o700 });
    this.xauthority = writeXauthority(join(this.runtimeDir, 'Xauthority'));
    // Root cannot use Chromium's sandbox; tests on the host switch it off explicitly, the image runs as a user.
    this.sandbox = !/^(0|false|no)$/i.test(opts.env.CHROMIUM_SANDBOX ?? '1');
    const e = opts.env;
    let problems: { variable: string; message: string }[] = [];
    try {
      this.env = parseConsoleEnv(e);
    } catch (err) {
      if (!(err instanceof ConsoleEnvError)) throw err;
      problems = err.problems;
    }
    if (this.env) {
      const v = this.env;
      // A console waiting for its node (AWAIT_APP_INFO) is not for anyone yet: a random password until the node's.
      const vncPassword = v.vncPassword ?? (v.awaitAppInfo ? randomBytes(6).toString('base64url') : undefined);
      this.display = { width: v.displayWidth, height: v.displayHeight, readOnly: v.readOnly, vncPort: v.vncPort, debug: v.debug, ...(vncPassword ? { vncPassword } : {}) };
      this.awaitingNode = v.awaitAppInfo;
    } else {
      // Stay up and show the problems. Err on the safe side: view-only, and a password whenever one was given.
      const num = (s: string | undefined, def: number, lo: number, hi: number) => {
        const n = Number(s);
        return s && Number.isInteger(n) && n >= lo && n <= hi ? n : def;
      };
      const pw = e.VNC_PASSWORD ? e.VNC_PASSWORD.slice(0, 8) : undefined;
      this.display = {
        width: num(e.DISPLAY_WIDTH, CONSOLE_DEFAULTS.displayWidth, 320, 7680),
        height: num(e.DISPLAY_HEIGHT, CONSOLE_DEFAULTS.displayHeight, 320, 7680),
        readOnly: true,
        vncPort: num(e.VNC_PORT, CONSOLE_DEFAULTS.vncPort, 1, 65535),
        debug: /^(1|true|yes)$/i.test(e.DEBUG ?? ''),
        ...(pw ? { vncPassword: pw } : {}),
      };
      // ConsoleEnvError messages never contain the password.
      const lines = problems.map((p) => (p.message.startsWith(p.variable) ? p.message : `${p.variable}: ${p.message}`));
      this.log.error({ problems }, `invalid console environment (shown on the screen): ${lines.join('; ')}`);
      this.app = errorApp('The console is not configured correctly', 'Fix these environment variables of the console container:', lines);
    }
    this.state = { pid: process.pid, vncPort: this.display.vncPort, xauthority: this.xauthority, restarts: { xvfb: 0, x11vnc: 0, chromium: 0 } };
  }

  /** Starts everything; resolves once x11vnc answers (the console keeps running until stop()). */
  async start(): Promise<void> {
    if (this.env?.awaitAppInfo) {
      const env = this.env;
      this.log.info({ app: env.app, readOnly: env.readOnly, display: `${env.displayWidth}x${env.displayHeight}`, vncPort: env.vncPort, assignSocket: env.assignSocket }, 'starting the console; it waits for its node (bmc-console assign)');
      this.app = waitingApp();
      this.assignServer = await listenForAssignment(env.assignSocket, (a) => this.assign(a));
      // Loaded now, so an assignment does not wait for it.
      if (env.app === 'redfish-graphical' && !this.opts.redfishApp) void import('./redfish-app.js').catch(() => undefined);
    } else if (this.env) await this.configure(this.env);
    const ready = new Promise<void>((resolve) => {
      this.onVncReady = resolve;
    });
    this.loopDone = this.loop();
    await ready;
  }

  /**
   * The node of a console started with AWAIT_APP_INFO: checked like the environment would be, then its app takes
   * over the running browser (or a fresh one, when the node needs other certificate flags). Returns the refusal.
   */
  private async assign(a: Assignment): Promise<string | undefined> {
    if (!this.awaitingNode) return 'this console has its node already';
    if (this.stopping) return 'the console is stopping';
    // A CA bundle comes as text: it goes into a file of this console's own, which verify_ca then names.
    const ca = a.caBundle === undefined ? undefined : { file: join(this.runtimeDir, 'ca', 'bmc-ca.pem'), text: a.caBundle };
    let env: ConsoleEnv;
    try {
      env = parseConsoleEnv({
        ...this.opts.env,
        APP_INFO: JSON.stringify(ca ? { ...a.appInfo, verify_ca: ca.file } : a.appInfo),
        APP_INFO_FILE: undefined,
        AWAIT_APP_INFO: 'false',
        ...(a.vncPassword ? { VNC_PASSWORD: a.vncPassword, VNC_PASSWORD_FILE: undefined } : {}),
      });
    } catch (err) {
      if (err instanceof ConsoleEnvError) return err.message; // never contains the password
      throw err;
    }
    this.awaitingNode = false; // the socket stays, to say so to a second assignment
    if (ca) {
      mkdirSync(dirname(ca.file), { recursive: true, mode: 0o700 });
      writeFileSync(ca.file, ca.text, { mode: 0o600 });
    }
    if (env.vncPassword) {
      // x11vnc runs with "read:": it reads the file again for the next client.
      this.display.vncPassword = env.vncPassword;
      writePasswordFile(this.runtimeDir, env.vncPassword);
    }
    this.env = env;
    // The answer goes now, not after the switch (a CA import, a trust check, a relaunch): the agent's start returns
    // on it, and only then does a viewer connect, for whom the KVM opens.
    void this.configure(env)
      .then(() => {
        const b = this.browser;
        if (b) return this.switchApp(b); // else the browser is (re)starting and asks the new app for its flags itself
      })
      .catch((err: unknown) => this.log.error({ err: (err as Error).message }, 'the assigned node could not be set up'));
    return undefined;
  }

  /** Builds the app for `env` and, where the KVM follows the viewers, starts counting them. */
  private async configure(env: ConsoleEnv): Promise<void> {
    this.log.info({ app: env.app, appInfo: describeAppInfo(env.appInfo), readOnly: env.readOnly, display: `${env.displayWidth}x${env.displayHeight}`, vncPort: env.vncPort, vncAuth: env.vncPassword ? 'password' : 'none' }, 'starting the console');
    if (env.app === 'fake') this.app = fakeApp({ readOnly: env.readOnly, ...(env.appInfo.node_uuid ? { subject: `node ${env.appInfo.node_uuid}` } : {}) });
    else if (this.opts.redfishApp) this.app = await this.opts.redfishApp(env);
    else {
      const { redfishApp } = await import('./redfish-app.js');
      this.app = redfishApp(env.appInfo, env.keyDelayMs, { width: env.displayWidth, height: env.displayHeight });
    }
    if (env.app !== 'fake' && env.kvmReleaseAfter !== 'always') {
      // The BMC login and KVM follow the VNC viewers; Chromium and the status page stay warm meanwhile.
      this.demand = new KvmDemand(env.kvmReleaseAfter * 1000, (wanted, viewers) => {
        this.log.info({ viewers, kvmWanted: wanted }, wanted ? 'a viewer connected: opening the KVM' : 'no viewer: releasing the KVM');
        if (wanted) this.app.kvmWanted?.(this.log);
        this.state.kvmWanted = wanted;
        this.writeState();
      });
      this.state.kvmWanted = false;
      this.state.viewers = 0;
      this.viewers = new VncViewers(env.vncPort, (n) => {
        this.log.debug({ viewers: n }, 'VNC viewers');
        this.state.viewers = n;
        this.writeState();
        this.demand.setViewers(n);
      }, this.probePorts);
      this.viewers.start();
    } else this.app.kvmWanted?.(this.log); // KVM_RELEASE_AFTER=always (or APP=fake, which has no such hook)
  }

  /**
   * A node was assigned while `browser` runs the waiting app: the node's app takes the page over when it needs the
   * same flags (the system's trust store, or a CA bundle the running browser has taken up), else a fresh browser is
   * launched with its flags.
   */
  private async switchApp(browser: Browser): Promise<void> {
    const app = this.app;
    let extraArgs: string[] = [];
    let failure: Error | undefined;
    try {
      extraArgs = await app.browserArgs(join(this.runtimeDir, 'home'), this.log);
    } catch (err) {
      failure = err as Error;
    }
    if (this.browser !== browser || this.app !== app) return;
    const sameFlags = !failure && extraArgs.join('\n') === browser.extraArgs.join('\n');
    // A CA bundle has just gone into the NSS database (browserArgs). Chromium opens that database at its first TLS
    // verification, which a waiting console has not made, so the running browser usually trusts the bundle; it is
    // asked, since a browser that opened the database earlier would not see the import.
    const address = this.env?.appInfo.address;
    const caBundle = typeof this.env?.appInfo.verify_ca === 'string';
    const keep = sameFlags && (!caBundle || (address !== undefined && (await trustsOrigin(browser.page, new URL(address).origin))));
    if (this.browser !== browser || this.app !== app) return;
    if (keep) {
      this.runApp(browser, browser.page);
      return;
    }
    this.log.info(sameFlags ? 'the running browser does not trust the BMC with the CA bundle: launching a fresh browser' : 'the node needs other browser flags (certificate trust): launching a fresh browser');
    this.nextLaunch = { app, extraArgs, ...(failure ? { failure } : {}) };
    if (this.dropBrowser(browser)) this.poke();
  }

  private onVncReady: (() => void) | undefined;

  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.reconcile();
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'supervisor step failed');
      }
      if (this.stopping) break;
      // Something may have died while reconcile() awaited: go round again at once if a child is due now,
      // else sleep until the next one is due or a death pokes us.
      const now = Date.now();
      const due = this.missing().map((n) => this.notBefore[n] - now);
      if (due.some((d) => d <= 0)) {
        await new Promise((r) => setImmediate(r));
        continue;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        if (due.length) setTimeout(() => this.poke(), Math.min(...due) + 5);
      });
    }
  }

  /** The children that are not running and could be started now (x11vnc and Chromium need Xvfb). */
  private missing(): Name[] {
    if (!this.xvfb) return ['xvfb'];
    return (['x11vnc', 'chromium'] as Name[]).filter((n) => this.isMissing(n));
  }

  private isMissing(n: Name): boolean {
    if (n === 'xvfb') return !this.xvfb;
    if (n === 'x11vnc') return !this.x11vnc;
    return !this.browser && !this.browserStarting;
  }

  private died(n: Name, how: string): void {
    if (this.stopping) return;
    const delay = this.backoff[n].nextDelay(Date.now());
    this.notBefore[n] = Date.now() + delay;
    this.state.restarts[n] += 1;
    this.log.warn({ child: n, how, restartInMs: delay }, `${n} exited; restarting`);
    this.writeState();
    this.poke();
  }

  private async reconcile(): Promise<void> {
    if (!this.xvfb) {
      if (Date.now() < this.notBefore.xvfb) return;
      // Anything left from the old display goes with it, without grace: it cannot draw or serve anything any more.
      const old = this.x11vnc;
      this.x11vnc = undefined;
      await Promise.all([this.stopBrowser(200), old?.stop(200)]);
      const xvfb = await startXvfb({ ...this.display, authFile: this.xauthority }, this.log).catch((err: unknown) => {
        this.log.error({ err: (err as Error).message }, 'Xvfb failed to start');
        this.died('xvfb', 'start failed');
        return undefined;
      });
      if (!xvfb) return;
      this.xvfb = xvfb;
      this.backoff.xvfb.started(Date.now());
      this.state.display = xvfb.display;
      this.state.xvfbPid = xvfb.pid;
      this.log.info({ child: 'xvfb', childPid: xvfb.pid, display: xvfb.display }, 'Xvfb ready');
      this.writeState();
      void xvfb.exited.then((how) => {
        if (this.xvfb !== xvfb) return;
        this.xvfb = undefined;
        this.state.xvfbPid = undefined;
        this.died('xvfb', how);
      });
    }
    const xvfb = this.xvfb;
    if (!this.x11vnc && Date.now() >= this.notBefore.x11vnc) {
      const passwordFile = this.display.vncPassword ? writePasswordFile(this.runtimeDir, this.display.vncPassword) : undefined;
      const child = startX11vnc({ display: xvfb.display, authFile: xvfb.authFile, port: this.display.vncPort, readOnly: this.display.readOnly, ...(passwordFile ? { passwordFile, rereadPassword: this.awaitingNode } : {}) }, this.log);
      this.x11vnc = child;
      this.backoff.x11vnc.started(Date.now());
      this.state.x11vncPid = child.pid;
      this.writeState();
      void child.exited.then((how) => {
        if (this.x11vnc !== child) return;
        this.x11vnc = undefined;
        this.state.x11vncPid = undefined;
        this.died('x11vnc', how);
      });
      // Readiness in the background: the browser starts meanwhile.
      void waitForRfb('127.0.0.1', this.display.vncPort, 60_000, this.probePorts).then(
        () => {
          if (this.x11vnc !== child) return;
          this.log.info({ child: 'x11vnc', childPid: child.pid, port: this.display.vncPort }, 'x11vnc ready');
          this.onVncReady?.();
          this.onVncReady = undefined;
        },
        (err: unknown) => this.x11vnc === child && this.log.warn({ err: (err as Error).message }, 'x11vnc is not answering yet'),
      );
    }
    if (!this.browser && !this.browserStarting && Date.now() >= this.notBefore.chromium && this.xvfb === xvfb) {
      this.browserStarting = true;
      try {
        await this.startBrowser(xvfb);
      } finally {
        this.browserStarting = false;
      }
    }
  }

  private async startBrowser(xvfb: RunningXvfb): Promise<void> {
    const home = join(this.runtimeDir, 'home');
    // A fresh profile per launch, like Ironic: no stale sessions, cookies or crash bubbles. A new directory, not the
    // old one emptied: the old browser may still be closing into it, and deleting thousands of files would hold up
    // the launch; the old one goes in the background.
    const profile = join(this.runtimeDir, `profile-${++this.launches}`);
    if (this.launches > 1) spawn('rm', ['-rf', join(this.runtimeDir, `profile-${this.launches - 1}`)], { stdio: 'ignore' }).on('error', () => undefined).unref();
    mkdirSync(home, { recursive: true });
    const app = this.app;
    let launchFailure: Error | undefined;
    let extraArgs: string[] = [];
    const planned = this.nextLaunch?.app === app ? this.nextLaunch : undefined;
    this.nextLaunch = undefined;
    if (planned) {
      extraArgs = planned.extraArgs;
      launchFailure = planned.failure;
    } else
      try {
        extraArgs = await app.browserArgs(home, this.log);
      } catch (err) {
        launchFailure = err as Error;
      }
    let context: BrowserContext;
    try {
      context = await launchChromium({ display: xvfb.display, width: this.display.width, height: this.display.height, sandbox: this.sandbox, extraArgs, debug: this.display.debug }, profile, home);
    } catch (err) {
      this.log.error({ err: (err as Error).message.split('\n')[0] }, 'Chromium failed to start');
      this.died('chromium', 'launch failed');
      return;
    }
    if (this.stopping || this.xvfb !== xvfb) {
      await context.close().catch(() => undefined);
      return;
    }
    const page = context.pages()[0] ?? (await context.newPage());
    for (const pid of this.closingPids) if (!pidExists(pid)) this.closingPids.delete(pid);
    const browser: Browser = { context, page, abort: new AbortController(), pid: findBrowserPid(process.pid, this.closingPids), extraArgs };
    this.browser = browser;
    this.backoff.chromium.started(Date.now());
    this.state.chromiumPid = browser.pid;
    this.log.info({ child: 'chromium', childPid: browser.pid }, 'Chromium ready');
    this.writeState();
    context.on('close', () => this.lostBrowser(browser, 'browser closed'));

    await context.exposeFunction(STEP_OVERLAY_FUNCTION, () => this.step);
    await context.addInitScript(stepOverlayInitScript);
    this.watchPage(browser, page);
    // A node assigned while this browser launched for the waiting app: its app decides whether the flags fit.
    if (this.app !== app) void this.switchApp(browser);
    else this.runApp(browser, page, launchFailure);
  }

  /** The browser process is gone (or unusable): drop it; the loop launches a new one after the backoff. */
  private lostBrowser(browser: Browser, how: string): void {
    if (this.dropBrowser(browser)) this.died('chromium', how);
  }

  /** Ends the app session in `browser` and closes it, if it is still the current one; false if it was not. */
  private dropBrowser(browser: Browser): boolean {
    if (this.browser !== browser) return false;
    this.browser = undefined;
    this.state.chromiumPid = undefined;
    browser.abort.abort();
    if (browser.pid) this.closingPids.add(browser.pid);
    void browser.context.close().catch(() => undefined);
    return true;
  }

  /** The page's events, once per page (an assigned node's app runs in the page the waiting app had). */
  private watchPage(browser: Browser, page: Page): void {
    // Any navigation of the page (a vendor script's BMC page, or about:blank again) leaves our status page behind.
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame() && browser.view?.page === page) browser.view.statusShown = false;
    });
    // A dead renderer costs a new page in the same browser, not a new browser: the browser process,
    // its profile and the certificate trust all survive.
    page.on('crash', () => void this.reopenPage(browser, page));
    page.on('close', () => browser.page === page && this.lostBrowser(browser, 'page closed'));
  }

  /** Runs the app in `page` of the running browser until the page or the browser goes; ends the session before. */
  private runApp(browser: Browser, page: Page, launchFailure?: Error): void {
    browser.abort.abort();
    const abort = new AbortController();
    browser.page = page;
    browser.abort = abort;
    const view: PageView = { page, abort };
    browser.view = view;
    const session: BrowserSession = {
      context: browser.context,
      page,
      signal: abort.signal,
      log: this.log,
      status: (step, opts) => this.showStatus(view, step, opts?.resting ?? false),
      fail: (cause, hint, details) => this.showFailure(view, cause, hint, details),
      demand: this.demand,
      relaunch: () => {
        if (this.dropBrowser(browser)) this.poke();
      },
      ...(launchFailure ? { launchFailure } : {}),
    };
    void this.app.run(session).catch((err: unknown) => this.log.error({ err: (err as Error).message }, 'console app failed'));
  }

  private async reopenPage(browser: Browser, crashed: Page): Promise<void> {
    if (this.stopping || this.browser !== browser || browser.page !== crashed) return;
    this.log.warn({ child: 'chromium' }, 'the page crashed (renderer died); reopening it in the running browser');
    browser.abort.abort();
    let page: Page;
    try {
      page = await browser.context.newPage();
    } catch (err) {
      this.log.warn({ err: (err as Error).message.split('\n')[0] }, 'cannot open a new page');
      return this.lostBrowser(browser, 'page crashed');
    }
    if (this.stopping || this.browser !== browser) {
      await page.close().catch(() => undefined);
      return;
    }
    this.watchPage(browser, page);
    this.runApp(browser, page);
    await crashed.close().catch(() => undefined);
  }

  private async showStatus(b: PageView, step: string | null, resting = false): Promise<void> {
    this.step = step;
    this.state.step = step;
    this.state.error = undefined;
    this.writeState();
    if (step !== null) this.log.info({ step }, 'status');
    // On our own page, redraw it; on a BMC page the overlay picks the step up by itself.
    if (step === null || b.page.url() !== 'about:blank' || b.abort.signal.aborted) {
      b.statusShown = false;
      return;
    }
    // Once the page is drawn, a step is one text change that nobody waits for: the steps before the KVM are on the
    // critical path of a start, and each full redraw (a new document, waited for until "load") cost ~30-40 ms there.
    // The change looks for our page's heading, so if a vendor script has navigated meanwhile it touches nothing.
    if (b.statusShown) {
      void b.page.evaluate(replaceStatusStep, { step, resting }).catch(() => undefined);
      return;
    }
    await b.page
      .setContent(statusPageHtml({ step, resting, ...this.subject() }))
      .then(() => (b.statusShown = true))
      .catch(() => undefined);
  }

  private async showFailure(b: PageView, cause: string, hint: string, details?: string[]): Promise<void> {
    b.statusShown = false;
    this.state.error = cause;
    this.writeState();
    if (b.abort.signal.aborted) return;
    await b.page
      .goto('about:blank')
      .then(() => b.page.setContent(statusPageHtml({ step: this.step && this.step !== 'Starting' ? this.step : '', error: cause, hint, ...(details ? { details } : {}), ...this.subject() })))
      .catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'cannot show the failure page'));
  }

  private subject(): { subject?: string } {
    const info = this.env?.appInfo;
    const parts = [info?.node_uuid ? `node ${info.node_uuid}` : undefined, info?.address].filter(Boolean);
    return parts.length ? { subject: parts.join(' - ') } : {};
  }

  /** Closes the browser: politely (1 s), then SIGKILL. The vendor script has closed its BMC session before. */
  private async stopBrowser(graceMs = 1500): Promise<void> {
    const b = this.browser;
    this.browser = undefined;
    this.state.chromiumPid = undefined;
    if (!b) return;
    b.abort.abort();
    await withTimeout(b.context.close(), graceMs).catch(() => undefined);
    if (b.pid) {
      try {
        process.kill(b.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      // Playwright reaps it; wait (briefly) until it has, so no Chromium outlives the supervisor.
      for (let i = 0; i < 10 && pidExists(b.pid); i++) await sleep(50);
    }
  }

  /** Ends the vendor session cleanly, then stops the children together. Finishes well within 5 s. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const t0 = Date.now();
    this.log.info('stopping the console');
    this.assignServer?.close();
    this.viewers?.stop();
    this.demand.dispose();
    this.poke();
    await withTimeout(this.app?.close() ?? Promise.resolve(), 2500).catch(() => this.log.warn('the vendor script did not close in time'));
    const x11vnc = this.x11vnc;
    const xvfb = this.xvfb;
    this.x11vnc = undefined;
    this.xvfb = undefined;
    await Promise.all([this.stopBrowser(500), x11vnc?.stop(500), xvfb?.stop(500)]);
    await withTimeout(this.loopDone ?? Promise.resolve(), 200).catch(() => undefined);
    this.log.info({ ms: Date.now() - t0 }, 'console stopped');
    // The profile holds thousands of files and a loaded disk is slow: delete it without holding up the exit.
    if (!this.opts.runtimeDir) spawn('rm', ['-rf', this.runtimeDir], { detached: true, stdio: 'ignore' }).unref();
  }

  private writeState(): void {
    if (!this.opts.stateFile) return;
    try {
      writeFileSync(this.opts.stateFile, JSON.stringify(this.state));
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'cannot write the state file');
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

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, sleep(ms).then(() => Promise.reject(new Error(`timed out after ${ms} ms`)))]);
}
