/**
 * APP=redfish-graphical: Redfish discovery, then the vendor script for the BMC's family opens its HTML5 KVM.
 * The script's session is watched (isAlive every few seconds) and reopened after a loss; after a browser or page
 * restart the KVM is reopened with the discovery already made. Failures go on the
 * screen with their cause and hint, and are retried after a while (a BMC that was down comes back by itself).
 */
import type { AppInfo } from '@bmc-console/common/console-env';
import { discover } from '../discovery/discover.js';
import type { Discovery } from '../discovery/types.js';
import { createRedfishClient, type RedfishClient } from '../redfish/client.js';
import type { Logger } from '@bmc-console/common/log';
import { ConsoleFailure, type BmcTarget, type ConsoleContext, type VendorScript } from '../vendor-script.js';
import { pickVendorScript } from '../../vendor-scripts/index.js';
import { browserTrust, lookupKvmEndpoints } from './browser-trust.js';
import { guardContext, NavigationAllowList } from './navigation-guard.js';
import { Backoff } from './backoff.js';
import { sleep, type BrowserSession, type ConsoleApp } from './console-app.js';

// A page check (no BMC request): often enough that a lost BMC is on screen well within 5 s.
export const ALIVE_POLL_MS = 2000;

// Pacing of tries after a failure. A login can fail again (and BMCs lock accounts after a few wrong passwords),
// so anything past the network backs off slowly. A BMC that did not answer costs nothing to try again: while
// a viewer watches it is tried every few seconds, so the KVM is back soon after the BMC is.
export const RETRY_AFTER_LOGIN_FAILURE = { initialMs: 10_000, maxMs: 120_000, factor: 2, resetAfterMs: 600_000 };
export const RETRY_AFTER_UNREACHABLE = { initialMs: 2_000, maxMs: 15_000, factor: 2, resetAfterMs: 600_000 };
// Nobody watching: no hurry (the first viewer to arrive cuts the wait short).
export const RETRY_UNWATCHED_MIN_MS = 60_000;

/** APP_INFO -> where the BMC is (Ironic's parse_driver_info already split the address; https is assumed). */
export function bmcTarget(info: AppInfo): BmcTarget {
  const raw = info.address ?? '';
  const url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`);
  const prefix = info.root_prefix?.trim() || url.pathname.replace(/\/+$/, '') || '/redfish/v1';
  return {
    origin: url.origin,
    rootPrefix: prefix.startsWith('/') ? prefix : `/${prefix}`,
    username: info.username ?? '',
    password: info.password ?? '',
    verifyCa: info.verify_ca ?? true,
  };
}

/** Turns anything thrown into something a person can act on. */
export function toFailure(err: unknown): ConsoleFailure {
  if (err instanceof ConsoleFailure) return err;
  const e = err as { kind?: string; message?: string };
  const message = e?.message ?? String(err);
  switch (e?.kind) {
    case 'unreachable':
      return new ConsoleFailure(`Cannot reach the BMC: ${message}`, 'Check the BMC address and that the BMC is reachable from the console.', 'unreachable');
    case 'tls':
      return new ConsoleFailure(`The BMC's TLS certificate was not accepted: ${message}`, 'Check verify_ca in the node driver_info (true, false or a CA bundle path).', 'tls');
    case 'auth':
      return new ConsoleFailure('The BMC rejected the user name or password', "Check the node's redfish_username and redfish_password.", 'auth');
    default:
      return new ConsoleFailure(`Opening the console failed: ${message}`, 'See the console log (DEBUG=1 shows more).', 'internal');
  }
}

export function redfishApp(info: AppInfo, keyDelayMs: number, display: { width: number; height: number }): ConsoleApp {
  const bmc = bmcTarget(info);
  const secrets = [bmc.password];
  let current: { script: VendorScript; ctx: ConsoleContext } | undefined;
  // What the BMC is, from the last session that opened its KVM: a browser or page restarted by the supervisor
  // (crash, Xvfb death) opens the KVM again without asking Redfish again. Forgotten on any failure or session loss.
  let known: Discovery | undefined;
  const retry = { login: new Backoff(RETRY_AFTER_LOGIN_FAILURE), unreachable: new Backoff(RETRY_AFTER_UNREACHABLE) };
  let browserHome = '';
  let lastLogged = '';
  // close() ran: the console is stopping and took the KVM down itself, so a failing alive check is no loss.
  let closed = false;

  // Discovery started by kvmWanted() while Chromium may still be launching (~0.2 s of Redfish off the start);
  // the next run() takes it. Dropped after a failure: the next try asks the BMC afresh.
  let early: Promise<{ redfish: RedfishClient; discovery: Discovery }> | undefined;
  // Ironic's auth_type and system_id (APP_INFO): how to log in to Redfish, and which host a multi-host BMC shows.
  const redfishClient = (log: Logger) => createRedfishClient(bmc, { auth: info.auth_type ?? 'auto', log: log.child({ component: 'redfish' }) });
  const discoverBmc = (log: Logger) => {
    const redfish = redfishClient(log);
    return discover(redfish, info.system_id ? { systemId: info.system_id } : {}).then((discovery) => ({ redfish, discovery }));
  };
  /** Forgets a prefetched discovery nobody took; its Redfish session (if it made one) is logged out. */
  const dropEarly = () => {
    const e = early;
    early = undefined;
    void e?.then(({ redfish }) => redfish.logout().finally(() => redfish.close())).catch(() => undefined);
  };

  const scrub = (s: string) => secrets.reduce((acc, p) => (p && p.length >= 3 ? acc.split(p).join('[redacted]') : acc), s);
  // verify_ca false pins every TLS port the KVM uses (XCC's viewer port too), looked up in Redfish before launch.
  const trust = (log: Logger) =>
    browserTrust({ origin: bmc.origin, verifyCa: bmc.verifyCa, home: browserHome, kvmEndpoints: () => lookupKvmEndpoints(bmc, info.auth_type ?? 'auto'), warn: (msg, detail) => log.warn(detail, msg) });
  // The BMC's pages may load documents from its own origin only (navigation-guard.ts); its KVM's websockets are not
  // navigations, so a vendor's separate viewer port (XCC) needs no entry.
  const allowed = new NavigationAllowList([bmc.origin]);

  /**
   * Logs and shows a failure, then waits for the next try: the backoff for its kind (at least a minute while
   * nobody watches), cut short when the first viewer arrives. The same failure again is logged at debug level.
   */
  async function failAndWait(s: BrowserSession, err: unknown, signal: AbortSignal): Promise<void> {
    dropEarly();
    const f = toFailure(err);
    const cause = scrub(f.cause);
    const backoff = f.kind === 'unreachable' ? retry.unreachable : retry.login;
    const watched = s.demand.wanted;
    const delay = watched ? backoff.nextDelay(Date.now()) : Math.max(RETRY_UNWATCHED_MIN_MS, backoff.nextDelay(Date.now()));
    s.log[cause === lastLogged ? 'debug' : 'error']({ kind: f.kind, cause, retryInMs: delay, tries: backoff.consecutiveFailures }, 'the console failed');
    lastLogged = cause;
    const next = `Trying again in ${Math.round(delay / 1000)} s${watched ? '' : ', or as soon as a viewer connects'} (try ${backoff.consecutiveFailures}).`;
    await s.fail(cause, f.hint, [next]).catch(() => undefined);
    const waited = new AbortController(); // whichever wait ends first ends the other
    const both = AbortSignal.any([signal, waited.signal]);
    await Promise.race(watched ? [sleep(delay, both)] : [sleep(delay, both), s.demand.whenWanted(both)]);
    waited.abort();
  }

  return {
    browserArgs: (home, log) => {
      browserHome = home;
      return trust(log);
    },

    async run(s: BrowserSession) {
      if (s.launchFailure) {
        // The browser cannot trust the BMC yet (its certificate could not be fetched, say). Keep this browser and
        // the failure on screen, and try the trust step alone; relaunch with the new flags once it works.
        let err: unknown = s.launchFailure;
        for (;;) {
          await failAndWait(s, err, s.signal);
          if (s.signal.aborted) return;
          try {
            await trust(s.log);
            break;
          } catch (e) {
            err = e;
          }
        }
        dropEarly();
        s.log.info('the BMC certificate is available now; starting a browser that trusts it');
        s.relaunch();
        return;
      }
      while (!s.signal.aborted) {
        if (!s.demand.wanted) {
          // Nobody watches: hold no BMC session, keep the browser warm on the status page.
          await s.status('Ready: the BMC console opens when a viewer connects', { resting: true });
          await s.demand.whenWanted(s.signal);
          if (s.signal.aborted) return;
        }
        // Ends this BMC session when the supervisor is done with the browser or the last viewer's grace ran out.
        const signal = AbortSignal.any([s.signal, s.demand.releaseSignal()]);
        try {
          // Before any BMC page: the guard holds for the page and every popup (once per page; cheap after).
          await guardContext(s.context, s.page, allowed, s.log);
          await s.status(`Connecting to the BMC at ${bmc.origin}`);
          let redfish: RedfishClient;
          let discovery: Discovery;
          if (known) {
            redfish = redfishClient(s.log);
            discovery = known;
          } else {
            const pending = early ?? discoverBmc(s.log);
            early = undefined;
            ({ redfish, discovery } = await pending);
            s.log.info({ discovery }, 'discovered the BMC');
          }
          const script = pickVendorScript(discovery);
          await s.status(`Opening the ${script.displayName} console`);
          const ctx: ConsoleContext = {
            page: s.page,
            context: s.context,
            bmc,
            discovery,
            redfish,
            status: (step) => s.status(step),
            log: s.log.child({ script: script.family }),
            keys: { keyDelayMs },
            signal,
            display,
            ...(info.node_uuid ? { node: info.node_uuid } : {}),
          };
          current = { script, ctx };
          const attempt = Date.now();
          retry.login.started(attempt);
          retry.unreachable.started(attempt);
          await script.open(ctx);
          if (!signal.aborted) {
            known = discovery;
            lastLogged = '';
            await s.status(null);
            s.log.info({ family: script.family }, 'the KVM is showing');
          }
          while (!signal.aborted) {
            await sleep(ALIVE_POLL_MS, signal);
            if (signal.aborted) break;
            const alive = await script.isAlive(ctx).catch(() => false);
            if (closed) return;
            if (!alive) {
              s.log.warn({ family: script.family }, 'the KVM session was lost; opening it again');
              known = undefined;
              await script.close(ctx).catch(() => undefined);
              current = undefined;
              break;
            }
          }
        } catch (err) {
          if (s.signal.aborted) return;
          if (!signal.aborted) {
            known = undefined;
            if (current) await current.script.close(current.ctx).catch(() => undefined);
            current = undefined;
            await failAndWait(s, err, signal);
          }
        }
        if (s.signal.aborted) return;
        if (signal.aborted) {
          // The last viewer's grace ran out: close the KVM and log out, so the BMC's slot is free again.
          const c = current;
          current = undefined;
          if (c) {
            s.log.info({ family: c.script.family }, 'no viewer: closing the KVM');
            await c.script.close(c.ctx).catch(() => undefined);
            s.log.info({ family: c.script.family }, 'the KVM is closed');
          }
          await s.page.goto('about:blank').catch(() => undefined);
        }
      }
    },

    kvmWanted(log) {
      if (known || early) return;
      early = discoverBmc(log);
      early.catch(() => undefined); // run() reports it, or it is dropped
    },

    async close() {
      closed = true;
      const c = current;
      current = undefined;
      if (c) await c.script.close(c.ctx).catch(() => undefined);
    },
  };
}
