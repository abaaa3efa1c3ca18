/**
 * APP=redfish-graphical: Redfish discovery, then the vendor script for the BMC's family opens its HTML5 KVM.
 * The script's session is watched (isAlive every few seconds) and reopened after a loss; after a browser or page
 * restart the KVM is reopened with the discovery already made. Failures go on the screen with their cause and
 * hint, and are tried again as the retry policy paces them (a BMC that was down comes back by itself).
 */
import { bmcTarget, type AppInfo } from '@bmc-console/common/console-env';
import { scrubSecrets, type Logger } from '@bmc-console/common/log';
import { asConsoleFailure } from '../console-failure.js';
import { discover } from '@bmc-console/common/discovery/discover';
import type { Discovery } from '@bmc-console/common/discovery/types';
import { createRedfishClient, type RedfishClient } from '@bmc-console/common/redfish/client';
import type { BmcTarget, ConsoleContext, VendorScript } from '../vendor-script.js';
import { pickVendorScript } from '../../vendor-scripts/index.js';
import { browserTrustSteps, lookupKvmEndpoints } from './browser-trust.js';
import { guardContext, NavigationAllowList } from './navigation-guard.js';
import { sleep, type BrowserArgs, type BrowserSession, type ConsoleApp } from './console-app.js';
import { RetryPolicy } from './retry-policy.js';
import { settleHeapSoon } from './settle-heap.js';

// A page check (no BMC request): often enough that a lost BMC is on screen well within 5 s.
export const ALIVE_POLL_MS = 2000;

/** What a failure is called when no step of ours named it (the vendor script's open() names its own). */
const OPENING = 'Opening the console';

export interface RedfishAppOptions {
  keyDelayMs: number;
  display: { width: number; height: number };
  /** Pacing of tries after a failure; the default policy unless a test brings its own. */
  retry?: RetryPolicy;
}

type Discovered = { redfish: RedfishClient; discovery: Discovery };

export class RedfishApp implements ConsoleApp {
  private readonly bmc: BmcTarget;
  private readonly retry: RetryPolicy;
  private current: { script: VendorScript; ctx: ConsoleContext } | undefined;
  // What the BMC is, from the last session that opened its KVM: a browser or page restarted by the supervisor
  // (crash, Xvfb death) opens the KVM again without asking Redfish again. Forgotten on any failure or session loss.
  private known: Discovery | undefined;
  private browserHome = '';
  private lastLogged = '';
  // close() ran: the console is stopping and took the KVM down itself, so a failing alive check is no loss.
  private closed = false;
  // Discovery started by kvmWanted() while Chromium may still be launching (Redfish off the start's critical path);
  // the next run() takes it. Dropped after a failure: the next try asks the BMC afresh.
  private early: Promise<Discovered> | undefined;
  // The BMC's pages may load documents from its own origin only (navigation-guard.ts); its KVM's websockets are not
  // navigations, so a vendor's separate viewer port (XCC) needs no entry.
  private readonly allowed: NavigationAllowList;

  constructor(
    private readonly info: AppInfo,
    private readonly opts: RedfishAppOptions,
  ) {
    this.bmc = bmcTarget(info);
    this.retry = opts.retry ?? new RetryPolicy();
    this.allowed = new NavigationAllowList([this.bmc.origin]);
  }

  browserArgs(home: string, log: Logger): BrowserArgs {
    this.browserHome = home;
    return this.trust(log);
  }

  async run(s: BrowserSession): Promise<void> {
    if (s.launchFailure) return this.awaitTrust(s, s.launchFailure);
    while (!s.signal.aborted) {
      if (!s.demand.wanted) {
        // Nobody watches: hold no BMC session, keep the browser warm on the status page.
        await s.status('Ready: the BMC console opens when a viewer connects', { resting: true });
        await s.demand.whenWanted(s.signal);
        if (s.signal.aborted) return;
      }
      // Ends this BMC session when the supervisor is done with the browser or the last viewer's grace ran out.
      const signal = AbortSignal.any([s.signal, s.demand.releaseSignal()]);
      if ((await this.session(s, signal)) === 'closed') return;
      if (s.signal.aborted) return;
      if (signal.aborted) {
        // The last viewer's grace ran out: close the KVM and log out, so the BMC's slot is free again.
        const c = this.current;
        this.current = undefined;
        if (c) {
          s.log.info({ family: c.script.family }, 'no viewer: closing the KVM');
          await c.script.close(c.ctx).catch(() => undefined);
          s.log.info({ family: c.script.family }, 'the KVM is closed');
        }
        await s.page.goto('about:blank').catch(() => undefined);
      }
    }
  }

  kvmWanted(log: Logger): void {
    if (this.known || this.early) return;
    this.early = this.discoverBmc(log);
    this.early.catch(() => undefined); // run() reports it, or it is dropped
  }

  async close(): Promise<void> {
    this.closed = true;
    const c = this.current;
    this.current = undefined;
    if (c) await c.script.close(c.ctx).catch(() => undefined);
  }

  /**
   * The browser cannot trust the BMC yet (its certificate could not be fetched, say). Keep this browser and the
   * failure on screen, and try the trust step alone; relaunch with the new flags once it works.
   */
  private async awaitTrust(s: BrowserSession, launchFailure: Error): Promise<void> {
    let err: unknown = launchFailure;
    for (;;) {
      await this.failAndWait(s, err, OPENING, s.signal);
      if (s.signal.aborted) return;
      try {
        await this.trust(s.log).all;
        break;
      } catch (e) {
        err = e;
      }
    }
    this.dropEarly();
    s.log.info('the BMC certificate is available now; starting a browser that trusts it');
    s.relaunch();
  }

  /** One BMC session: open the KVM and watch it until it is lost, it fails, or `signal` ends it. */
  private async session(s: BrowserSession, signal: AbortSignal): Promise<'closed' | 'ended'> {
    let step = OPENING;
    try {
      // Before any BMC page: the guard holds for the page and every popup (once per page; cheap after).
      await guardContext(s.context, s.page, this.allowed, s.log);
      await s.status(`Connecting to the BMC at ${this.bmc.origin}`);
      let redfish: RedfishClient;
      let discovery: Discovery;
      if (this.known) {
        redfish = this.redfishClient(s.log);
        discovery = this.known;
      } else {
        step = 'Redfish discovery';
        const pending = this.early ?? this.discoverBmc(s.log);
        this.early = undefined;
        ({ redfish, discovery } = await pending);
        s.log.info({ discovery }, 'discovered the BMC');
      }
      const script = pickVendorScript(discovery);
      step = `${script.displayName} console`;
      await s.status(`Opening the ${script.displayName} console`);
      const ctx: ConsoleContext = {
        page: s.page,
        context: s.context,
        bmc: this.bmc,
        discovery,
        redfish,
        status: (text) => s.status(text),
        log: s.log.child({ script: script.family }),
        keys: { keyDelayMs: this.opts.keyDelayMs },
        signal,
        display: this.opts.display,
        ...(this.info.node_uuid ? { node: this.info.node_uuid } : {}),
      };
      this.current = { script, ctx };
      this.retry.attempt(Date.now());
      await script.open(ctx);
      if (!signal.aborted) {
        this.known = discovery;
        this.lastLogged = '';
        await s.status(null);
        s.log.info({ family: script.family }, 'the KVM is showing');
        settleHeapSoon();
      }
      while (!signal.aborted) {
        await sleep(ALIVE_POLL_MS, signal);
        if (signal.aborted) break;
        const alive = await script.isAlive(ctx).catch(() => false);
        if (this.closed) return 'closed';
        if (!alive) {
          s.log.warn({ family: script.family }, 'the KVM session was lost; opening it again');
          this.known = undefined;
          await script.close(ctx).catch(() => undefined);
          this.current = undefined;
          break;
        }
      }
    } catch (err) {
      if (s.signal.aborted) return 'closed';
      if (!signal.aborted) {
        this.known = undefined;
        const c = this.current;
        this.current = undefined;
        if (c) await c.script.close(c.ctx).catch(() => undefined);
        await this.failAndWait(s, err, step, signal);
      }
    }
    return 'ended';
  }

  /**
   * Logs and shows a failure, then waits for the next try as the retry policy paces it, cut short when the first
   * viewer arrives. The same failure again is logged at debug level.
   */
  private async failAndWait(s: BrowserSession, err: unknown, what: string, signal: AbortSignal): Promise<void> {
    this.dropEarly();
    const f = asConsoleFailure(err, what, [this.bmc.password]);
    const cause = scrubSecrets(f.cause, [this.bmc.password]);
    const watched = s.demand.wanted;
    const { delayMs, tries } = this.retry.afterFailure(f.kind, watched, Date.now());
    s.log[cause === this.lastLogged ? 'debug' : 'error'](
      { kind: f.kind, cause, retryInMs: delayMs, tries },
      'the console failed',
    );
    this.lastLogged = cause;
    const next = `Trying again in ${Math.round(delayMs / 1000)} s${watched ? '' : ', or as soon as a viewer connects'} (try ${tries}).`;
    await s.fail(cause, f.hint, [next]).catch(() => undefined);
    const waited = new AbortController(); // whichever wait ends first ends the other
    const both = AbortSignal.any([signal, waited.signal]);
    await Promise.race(watched ? [sleep(delayMs, both)] : [sleep(delayMs, both), s.demand.whenWanted(both)]);
    waited.abort();
  }

  // Ironic's auth_type and system_id (APP_INFO): how to log in to Redfish, and which host a multi-host BMC shows.
  private redfishClient(log: Logger): RedfishClient {
    return createRedfishClient(this.bmc, {
      auth: this.info.auth_type ?? 'auto',
      log: log.child({ component: 'redfish' }),
    });
  }

  private discoverBmc(log: Logger): Promise<Discovered> {
    const redfish = this.redfishClient(log);
    return discover(redfish, this.info.system_id ? { systemId: this.info.system_id } : {}).then((discovery) => ({
      redfish,
      discovery,
    }));
  }

  /** Forgets a prefetched discovery nobody took; its Redfish session (if it made one) is logged out. */
  private dropEarly(): void {
    const e = this.early;
    this.early = undefined;
    void e?.then(({ redfish }) => redfish.logout().finally(() => redfish.close())).catch(() => undefined);
  }

  // verify_ca false pins every TLS port the KVM uses (XCC's viewer port too), looked up in Redfish while the browser
  // starts on the web port's pin (it is launched again when another port needs one).
  private trust(log: Logger): BrowserArgs {
    const bmc = this.bmc;
    return browserTrustSteps({
      origin: bmc.origin,
      verifyCa: bmc.verifyCa,
      home: this.browserHome,
      kvmEndpoints: () => lookupKvmEndpoints(bmc, this.info.auth_type ?? 'auto'),
      warn: (msg, detail) => log.warn(detail, msg),
    });
  }
}
