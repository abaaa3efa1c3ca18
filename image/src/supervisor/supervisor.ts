/**
 * `bmc-console run`: keeps Xvfb, x11vnc and Chromium running and the console app on screen. This coordinator owns
 * the configuration, the app, the restart schedule and the state file; the display (display-stack.ts), the browser
 * (console-browser.ts) and a pooled console's wait for its node (pool-assignment.ts) are state machines of their own.
 * One loop starts whatever is missing; each child's death is noticed, and it is started again after a backoff.
 * Xvfb's death takes the other two with it (they belong to its display).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import {
  bmcTarget,
  ConsoleEnvError,
  CONSOLE_DEFAULTS,
  describeAppInfo,
  parseConsoleEnv,
  verifyCaSetting,
  type ConsoleEnv,
} from '@bmc-console/common/console-env';
import { SECRET_VARIABLE_OF } from '@bmc-console/common/contracts/secret-names';
import type { Logger } from '@bmc-console/common/log';
import { Backoff } from './backoff.js';
import type { ConsoleApp } from './console-app.js';
import { ConsoleBrowser, withTimeout, type BrowserHost, type TrustQuestion } from './console-browser.js';
import { DisplayStack, type DisplaySettings } from './display-stack.js';
import { errorApp, fakeApp, waitingApp } from './fake-app.js';
import { KvmDemand } from './kvm-demand.js';
import { PoolAssignment } from './pool-assignment.js';
import type { ChildName, SupervisorState } from './supervisor-state.js';
import { VncViewers } from './vnc-viewers.js';
import { writeXauthority } from './xauthority.js';

export type { SupervisorState } from './supervisor-state.js';

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

const CHILDREN: readonly ChildName[] = ['xvfb', 'x11vnc', 'chromium'];

export class Supervisor {
  readonly state: SupervisorState;
  private readonly log: Logger;
  private readonly runtimeDir: string;
  private env: ConsoleEnv | undefined;
  /** Undefined while the app's module loads at start; Chromium launches only once there is one. */
  private currentApp: ConsoleApp | undefined;
  private readonly displayStack: DisplayStack;
  private readonly browser: ConsoleBrowser;
  /** AWAIT_APP_INFO: the node has not been assigned yet; `bmc-console assign` talks to this. */
  private pool: PoolAssignment | undefined;
  private isStopping = false;
  private wake: (() => void) | undefined;
  private readonly notBefore: Record<ChildName, number> = { xvfb: 0, x11vnc: 0, chromium: 0 };
  private readonly backoff: Record<ChildName, Backoff> = {
    xvfb: new Backoff(),
    x11vnc: new Backoff(),
    chromium: new Backoff(),
  };
  private loopDone: Promise<void> | undefined;
  private kvmDemand: KvmDemand = new KvmDemand('always');
  private viewers: { start(): void; stop(): void } | undefined;

  constructor(private readonly opts: SupervisorOptions) {
    this.log = opts.log;
    this.runtimeDir = opts.runtimeDir ?? mkdtempSync(join(tmpdir(), 'bmc-console-'));
    mkdirSync(this.runtimeDir, { recursive: true, mode: 0o700 });
    // The display's cookie file: Xvfb admits only x11vnc and Chromium, which are given it.
    const xauthority = writeXauthority(join(this.runtimeDir, 'Xauthority'));
    // Root cannot use Chromium's sandbox; tests on the host switch it off explicitly, the image runs as a user.
    const sandbox = !/^(0|false|no)$/i.test(opts.env.CHROMIUM_SANDBOX ?? '1');
    const e = opts.env;
    let problems: { variable: string; message: string }[] = [];
    try {
      this.env = parseConsoleEnv(e);
    } catch (err) {
      if (!(err instanceof ConsoleEnvError)) throw err;
      problems = err.problems;
    }
    let display: DisplaySettings;
    if (this.env) {
      const v = this.env;
      // A console waiting for its node (AWAIT_APP_INFO) is not for anyone yet: a random password until the node's.
      const vncPassword = v.vncPassword ?? (v.awaitAppInfo ? randomBytes(6).toString('base64url') : undefined);
      display = {
        width: v.displayWidth,
        height: v.displayHeight,
        readOnly: v.readOnly,
        vncPort: v.vncPort,
        debug: v.debug,
        ...(vncPassword ? { vncPassword } : {}),
      };
      if (v.awaitAppInfo)
        this.pool = new PoolAssignment({
          env: opts.env,
          socket: v.assignSocket,
          runtimeDir: this.runtimeDir,
          stopping: () => this.isStopping,
          assigned: (env) => this.assigned(env),
        });
    } else {
      // Stay up and show the problems. Err on the safe side: view-only, and a password whenever one was given.
      const num = (s: string | undefined, def: number, lo: number, hi: number) => {
        const n = Number(s);
        return s && Number.isInteger(n) && n >= lo && n <= hi ? n : def;
      };
      const given = e[SECRET_VARIABLE_OF.vncPassword];
      const pw = given ? given.slice(0, 8) : undefined;
      display = {
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
      this.currentApp = errorApp(
        'The console is not configured correctly',
        'Fix these environment variables of the console container:',
        lines,
      );
    }
    this.state = {
      pid: process.pid,
      vncPort: display.vncPort,
      xauthority,
      restarts: { xvfb: 0, x11vnc: 0, chromium: 0 },
    };
    const host: BrowserHost = {
      log: this.log,
      state: this.state,
      changed: () => this.changed(),
      stopping: () => this.isStopping,
      due: (child) => this.due(child),
      started: (child) => this.backoff[child].started(Date.now()),
      died: (child, how) => this.died(child, how),
      app: () => this.app(),
      demand: () => this.kvmDemand,
      subject: () => this.subject(),
      trust: () => this.trust(),
    };
    this.displayStack = new DisplayStack(
      display,
      this.runtimeDir,
      xauthority,
      host,
      () => this.pool?.state === 'waiting',
    );
    this.browser = new ConsoleBrowser(host, display, this.runtimeDir, sandbox, () => this.poke());
  }

  /** Starts everything; resolves once x11vnc answers (the console keeps running until stop()). */
  async start(): Promise<void> {
    let configured: Promise<void> | undefined;
    if (this.env && this.pool) {
      const env = this.env;
      this.log.info(
        {
          app: env.app,
          readOnly: env.readOnly,
          display: `${env.displayWidth}x${env.displayHeight}`,
          vncPort: env.vncPort,
          assignSocket: env.assignSocket,
        },
        'starting the console; it waits for its node (bmc-console assign)',
      );
      this.currentApp = waitingApp();
      await this.pool.listen();
      // Loaded now, so an assignment does not wait for it; and TLS's root store (loaded with the first context),
      // which the certificate pin's handshakes and Redfish would wait for.
      if (env.app === 'redfish-graphical' && !this.opts.redfishApp)
        void import('./redfish-app.js').then(() => createSecureContext()).catch(() => undefined);
    } else if (this.env)
      // Xvfb and x11vnc start while the app is made (its module loaded, its certificate trust looked up): Chromium
      // needs both, and the display's start is off the critical path this way.
      configured = this.configure(this.env).then(() => this.browser.prepare());
    this.loopDone = this.loop();
    if (configured) {
      await configured;
      this.poke(); // the loop left Chromium out while there was no app
    }
    await this.displayStack.vncReady;
  }

  private app(): ConsoleApp {
    if (!this.currentApp) throw new Error('the console app is not made yet');
    return this.currentApp;
  }

  /**
   * The node of a pooled console was assigned: its password goes to x11vnc now, and its app takes over the running
   * browser (or a fresh one, when the node needs other certificate flags).
   */
  private assigned(env: ConsoleEnv): void {
    if (env.vncPassword) this.displayStack.setVncPassword(env.vncPassword);
    this.env = env;
    // The answer to `bmc-console assign` goes now, not after the switch (a CA import, a trust check, a relaunch): the
    // agent's start returns on it, and only then does a viewer connect, for whom the KVM opens.
    void this.configure(env)
      .then(() => this.browser.appChanged())
      .catch((err: unknown) =>
        this.log.error({ err: (err as Error).message }, 'the assigned node could not be set up'),
      );
  }

  /** Builds the app for `env` and, where the KVM follows the viewers, starts counting them. */
  private async configure(env: ConsoleEnv): Promise<void> {
    this.log.info(
      {
        app: env.app,
        appInfo: describeAppInfo(env.appInfo),
        readOnly: env.readOnly,
        display: `${env.displayWidth}x${env.displayHeight}`,
        vncPort: env.vncPort,
        vncAuth: env.vncPassword ? 'password' : 'none',
      },
      'starting the console',
    );
    let app: ConsoleApp;
    if (env.app === 'fake')
      app = fakeApp({
        readOnly: env.readOnly,
        ...(env.appInfo.node_uuid ? { subject: `node ${env.appInfo.node_uuid}` } : {}),
      });
    else if (this.opts.redfishApp) app = await this.opts.redfishApp(env);
    else {
      const { RedfishApp } = await import('./redfish-app.js');
      app = new RedfishApp(env.appInfo, {
        keyDelayMs: env.keyDelayMs,
        display: { width: env.displayWidth, height: env.displayHeight },
      });
    }
    this.currentApp = app;
    if (env.app !== 'fake' && env.kvmReleaseAfter !== 'always') {
      // The BMC login and KVM follow the VNC viewers; Chromium and the status page stay warm meanwhile.
      this.kvmDemand = new KvmDemand(env.kvmReleaseAfter * 1000, (wanted, viewers) => {
        this.log.info(
          { viewers, kvmWanted: wanted },
          wanted ? 'a viewer connected: opening the KVM' : 'no viewer: releasing the KVM',
        );
        if (wanted) this.currentApp?.kvmWanted?.(this.log);
        this.state.kvmWanted = wanted;
        this.changed();
      });
      this.state.kvmWanted = false;
      this.state.viewers = 0;
      const viewersChanged = (n: number): void => {
        this.log.debug({ viewers: n }, 'VNC viewers');
        this.state.viewers = n;
        this.changed();
        this.kvmDemand.setViewers(n);
      };
      // x11vnc reports its viewers when it runs with the image's preload; without it (a host) they are polled.
      this.viewers =
        this.displayStack.viewers?.watch(viewersChanged) ??
        new VncViewers(env.vncPort, viewersChanged, this.displayStack.probePorts);
      this.viewers.start();
    } else app.kvmWanted?.(this.log); // KVM_RELEASE_AFTER=always (or APP=fake, which has no such hook)
  }

  // What the display and the browser ask of the coordinator (their BrowserHost).

  private subject(): { subject?: string } {
    const info = this.env?.appInfo;
    const parts = [info?.node_uuid ? `node ${info.node_uuid}` : undefined, info?.address].filter(Boolean);
    return parts.length ? { subject: parts.join(' - ') } : {};
  }

  private trust(): TrustQuestion {
    const info = this.env?.appInfo;
    // Ironic may send verify_ca as a string: "False" is a pin, not a CA bundle's path.
    const verifyCa = verifyCaSetting(info?.verify_ca);
    const bmc = this.env?.app === 'redfish-graphical' && info?.address !== undefined ? bmcTarget(info) : undefined;
    return {
      ...(info?.address !== undefined ? { address: info.address } : {}),
      caBundle: typeof verifyCa === 'string',
      pinned: verifyCa === false && bmc?.origin.startsWith('https:') === true,
    };
  }

  private due(child: ChildName): boolean {
    return Date.now() >= this.notBefore[child];
  }

  private died(child: ChildName, how: string): void {
    if (this.isStopping) return;
    const delay = this.backoff[child].nextDelay(Date.now());
    this.notBefore[child] = Date.now() + delay;
    this.state.restarts[child] += 1;
    this.log.warn({ child, how, restartInMs: delay }, `${child} exited; restarting`);
    this.changed();
    this.poke();
  }

  private changed(): void {
    if (!this.opts.stateFile) return;
    try {
      writeFileSync(this.opts.stateFile, JSON.stringify(this.state));
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'cannot write the state file');
    }
  }

  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private async loop(): Promise<void> {
    while (!this.isStopping) {
      try {
        await this.reconcile();
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'supervisor step failed');
      }
      if (this.isStopping) break;
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
  private missing(): ChildName[] {
    if (this.displayStack.childState('xvfb') === 'absent') return ['xvfb'];
    return CHILDREN.filter((n) =>
      n === 'chromium' ? this.browser.state === 'absent' : n !== 'xvfb' && this.displayStack.childState(n) === 'absent',
    );
  }

  private async reconcile(): Promise<void> {
    const xvfb = await this.displayStack.reconcile(() => this.browser.stop(200));
    if (xvfb && this.currentApp && this.due('chromium'))
      await this.browser.ensure(xvfb, () => this.displayStack.display === xvfb);
  }

  /** Ends the vendor session cleanly, then stops the children together. Finishes well within 5 s. */
  async stop(): Promise<void> {
    if (this.isStopping) return;
    this.isStopping = true;
    const t0 = Date.now();
    this.log.info('stopping the console');
    this.pool?.close();
    this.viewers?.stop();
    this.kvmDemand.dispose();
    this.poke();
    await withTimeout(this.currentApp?.close() ?? Promise.resolve(), 2500).catch(() =>
      this.log.warn('the vendor script did not close in time'),
    );
    await Promise.all([this.browser.stop(500), this.displayStack.stop(500)]);
    await withTimeout(this.loopDone ?? Promise.resolve(), 200).catch(() => undefined);
    this.log.info({ ms: Date.now() - t0 }, 'console stopped');
    // The profile holds thousands of files and a loaded disk is slow: delete it without holding up the exit.
    if (!this.opts.runtimeDir) spawn('rm', ['-rf', this.runtimeDir], { detached: true, stdio: 'ignore' }).unref();
  }
}
