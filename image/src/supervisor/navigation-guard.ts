/**
 * Keeps the kiosk on the BMC. The page Chromium shows is the BMC's, which we do not control: any document it tries
 * to load from another origin (a top-level navigation, an iframe, a redirect, a popup) is refused, and the refusal is
 * logged with the origin only, since paths and query strings can hold session tokens.
 *
 * Mechanism: the page's document filter (CDP Fetch interception of documents only, request stage; cdp/page.ts).
 * Subresources (the KVM's scripts, images, websocket) never pause, and the HTTP cache stays on. Pages are attached
 * before they run, so a popup's first document passes the context's guard too.
 */
import type { BrowserContext } from '../cdp/browser.js';
import type { Page } from '../cdp/page.js';
import type { Logger } from '@bmc-console/common/log';

/** Documents without a network load that the console itself shows: our status page and the blank page. */
const LOCAL_DOCUMENTS = new Set(['about:blank', 'about:srcdoc']);

/** The origins a BMC's pages may load documents from: its own (scheme, host, port), plus any extra KVM ports. */
export class NavigationAllowList {
  private readonly origins = new Set<string>();

  constructor(origins: Iterable<string> = []) {
    for (const o of origins) this.add(o);
  }

  /** Allows an origin (or a URL's origin); only http and https are ever allowed. */
  add(originOrUrl: string): void {
    const u = new URL(originOrUrl);
    if (u.protocol === 'https:' || u.protocol === 'http:') this.origins.add(u.origin);
  }

  /** Allows the BMC's host on another port of the same scheme (a vendor's separate KVM viewer port). */
  addPort(bmcOrigin: string, port: number): void {
    const u = new URL(bmcOrigin);
    u.port = String(port);
    this.add(u.origin);
  }

  allows(url: string): boolean {
    if (LOCAL_DOCUMENTS.has(url.replace(/#.*$/, ''))) return true;
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return false;
    }
    return (u.protocol === 'https:' || u.protocol === 'http:') && this.origins.has(u.origin);
  }

  list(): string[] {
    return [...this.origins];
  }
}

/** What of a URL may go into a log line: its origin (or scheme), never the path, query or fragment. */
export function originForLog(url: string): string {
  try {
    const u = new URL(url);
    return u.origin !== 'null' ? u.origin : u.protocol;
  } catch {
    return 'an invalid URL';
  }
}

/** Pages already guarded (a page outlives an app session: the supervisor hands it to the next app). */
const guarded = new WeakMap<Page, NavigationAllowList>();

/**
 * Refuses documents from origins `allow` does not list in `page`, from now on. Refused navigations are aborted
 * (ERR_ABORTED: the page keeps what it shows, no error page with the address). Idempotent per page: a second call
 * only swaps the allow-list.
 */
export async function guardPage(page: Page, allow: NavigationAllowList, log: Logger): Promise<void> {
  if (guarded.has(page)) {
    guarded.set(page, allow);
    return;
  }
  guarded.set(page, allow);
  const refused = refusalLog(log);
  try {
    await page.setDocumentFilter((url, frame) => {
      const list = guarded.get(page) ?? allow;
      const ok = list.allows(url);
      if (!ok) refused(url, frame, list);
      return ok;
    });
  } catch (err) {
    guarded.delete(page); // not guarded: the next call tries again
    throw err;
  }
}

/** Logs a refusal: the first for each origin as a warning, repeats at debug (a page can retry in a loop). */
function refusalLog(log: Logger): (url: string, frame: 'main' | 'sub' | 'popup', list: NavigationAllowList) => void {
  const warned = new Set<string>();
  return (url, frame, list) => {
    const origin = originForLog(url);
    const first = !warned.has(origin) && warned.size < 100;
    if (first) warned.add(origin);
    log[first ? 'warn' : 'debug']({ origin, frame, allowed: list.list() }, 'navigation refused: not the BMC');
  };
}

/** The allow-list and the kiosk page of each guarded context (the kiosk page changes when a crashed one is replaced). */
const contexts = new WeakMap<BrowserContext, { allow: NavigationAllowList; page: Page }>();

/**
 * Whether a vendor script waits for a popup right now: adoptPopup (vendor-scripts/lib/popup.ts) listens for the
 * context's next page, takes its address and closes it. Our own listener is the other one.
 */
function popupAwaited(context: BrowserContext): boolean {
  return context.listenerCount('page') > 1;
}

/**
 * Guards `page` and every page the context opens later (window.open, target=_blank). A new page whose address is
 * not allowed by the time it appears is closed: its first load may have started before its guard could. A popup
 * (a page with an opener) that no vendor script waits for is closed at once whatever its address: the kiosk shows
 * one page, and a window the BMC opens, on a viewer's click say, would cover the KVM with no way back.
 */
export async function guardContext(
  context: BrowserContext,
  page: Page,
  allow: NavigationAllowList,
  log: Logger,
): Promise<void> {
  const known = contexts.get(context);
  contexts.set(context, { allow, page });
  if (!known) {
    const refused = refusalLog(log);
    const closed = popupLog(log);
    // A new page's first document passes the guard before it is requested (the page is attached before it runs).
    // A popup whose document is refused is closed: it would stay blank, and a vendor script waiting for a popup
    // would take it for its own until its timeout.
    // (Closed here if the context announced it already, else by the 'page' listener below.)
    const announced = new WeakSet<Page>();
    const refusedPopups = new WeakSet<Page>();
    context.setNewPageDocumentFilter((p) => (url, frame) => {
      const list = contexts.get(context)?.allow ?? allow;
      const ok = list.allows(url);
      if (!ok) refused(url, frame === 'main' ? 'popup' : frame, list);
      if (!ok && frame === 'main' && p.openerId !== undefined) {
        refusedPopups.add(p);
        if (announced.has(p)) void p.close().catch(() => undefined);
      }
      return ok;
    });
    context.on('page', (p) => {
      announced.add(p);
      if (refusedPopups.has(p)) {
        void p.close().catch(() => undefined);
        return;
      }
      // Decided now: adoptPopup's one-time listener is still registered while this event is being delivered.
      const awaited = popupAwaited(context);
      const refuse = (url: string): boolean => {
        const list = contexts.get(context)?.allow ?? allow;
        if (list.allows(url)) return false;
        refused(url, 'popup', list);
        void p.close().catch(() => undefined);
        return true;
      };
      if (refuse(p.url())) return;
      // Its first load may have been under way before the guard below was in place.
      p.on('framenavigated', (f) => void (f === p.mainFrame() && refuse(f.url())));
      void guardPage(p, contexts.get(context)?.allow ?? allow, log).catch(() => undefined);
      if (awaited) return;
      // Pages without an opener are the supervisor's own (a new kiosk page after a renderer crash).
      void p.opener().then(
        async (opener) => {
          if (!opener || p.isClosed()) return;
          closed(p.url());
          await p.close().catch(() => undefined);
          const kiosk = contexts.get(context)?.page;
          if (kiosk && !kiosk.isClosed()) await kiosk.bringToFront().catch(() => undefined);
        },
        () => undefined,
      );
    });
  }
  await guardPage(page, allow, log);
}

/** Logs a popup closed because nobody asked for it: the first per origin as a warning, repeats at debug. */
function popupLog(log: Logger): (url: string) => void {
  const warned = new Set<string>();
  return (url) => {
    const origin = originForLog(url);
    const first = !warned.has(origin) && warned.size < 100;
    if (first) warned.add(origin);
    log[first ? 'warn' : 'debug']({ origin }, 'popup closed: the console shows the KVM page only');
  };
}
