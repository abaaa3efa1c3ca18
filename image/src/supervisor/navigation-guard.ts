/**
 * Keeps the kiosk on the BMC. The page Chromium shows is the BMC's, which we do not control: any document it tries
 * to load from another origin (a top-level navigation, an iframe, a redirect, a popup) is refused, and the refusal is
 * logged with the origin only, since paths and query strings can hold session tokens.
 *
 * Mechanism: CDP Fetch interception of documents only (resourceType Document, request stage), one CDP session per
 * page. Subresources (the KVM's scripts, images, websocket) never pause, and the HTTP cache stays on, unlike
 * Playwright's route(), which pauses every request and disables the cache.
 */
import type { BrowserContext, CDPSession, Page } from 'playwright-core';
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

interface RequestPaused {
  requestId: string;
  request: { url: string };
  frameId: string;
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
  try {
    const cdp: CDPSession = await page.context().newCDPSession(page);
    const tree = (await cdp.send('Page.getFrameTree')) as { frameTree: { frame: { id: string } } };
    const mainFrameId = tree.frameTree.frame.id;
    const refused = refusalLog(log);
    cdp.on('Fetch.requestPaused', (e: RequestPaused) => {
      const list = guarded.get(page) ?? allow;
      const ok = list.allows(e.request.url);
      if (!ok) refused(e.request.url, e.frameId === mainFrameId ? 'main' : 'sub', list);
      const answer = ok ? cdp.send('Fetch.continueRequest', { requestId: e.requestId }) : cdp.send('Fetch.failRequest', { requestId: e.requestId, errorReason: 'Aborted' });
      answer.catch(() => undefined); // the page or the request is gone
    });
    await cdp.send('Fetch.enable', { patterns: [{ urlPattern: '*', resourceType: 'Document', requestStage: 'Request' }] });
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

/**
 * Guards `page` and every page the context opens later (window.open, target=_blank). A new page whose address is
 * not allowed by the time it appears is closed: its first load may have started before its guard could.
 */
export async function guardContext(context: BrowserContext, page: Page, allow: NavigationAllowList, log: Logger): Promise<void> {
  const known = contexts.get(context);
  contexts.set(context, allow);
  if (!known) {
    const refused = refusalLog(log);
    context.on('page', (p) => {
      const refuse = (url: string): boolean => {
        const list = contexts.get(context) ?? allow;
        if (list.allows(url)) return false;
        refused(url, 'popup', list);
        void p.close().catch(() => undefined);
        return true;
      };
      if (refuse(p.url())) return;
      // Its first load may have been under way before the guard below was in place.
      p.on('framenavigated', (f) => void (f === p.mainFrame() && refuse(f.url())));
      void guardPage(p, contexts.get(context) ?? allow, log).catch(() => undefined);
    });
  }
  await guardPage(page, allow, log);
}

const contexts = new WeakMap<BrowserContext, NavigationAllowList>();
