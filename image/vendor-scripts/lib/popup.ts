/**
 * Some vendor UIs open the KVM in a popup window (iDRAC form login, iDRAC7/8 "Launch", AMI viewer.html).
 * The kiosk shows one page only, so window.open is caught before a second window exists (a popup that loaded
 * would already have spent a one-shot console ticket) and its address is opened in the kiosk page instead.
 */
import type { Page } from '../../src/cdp/page.js';
import type { ConsoleContext } from '../../src/vendor-script.js';
import { abortable } from './wait.js';
import { goto } from './web.js';

type Waiter = (url: string) => void;
const catchers = new WeakMap<Page, { waiters: Waiter[] }>();

// Runs in every document of the kiosk page: window.open reports the URL instead of opening a window.
function catchWindowOpen(): void {
  const w = window as unknown as { open: unknown; __bmcConsoleOpen?: (url: string) => void };
  const report = w.__bmcConsoleOpen;
  if (!report) return;
  w.open = (url?: string | URL): unknown => {
    if (url !== undefined && String(url) !== '') report(new URL(String(url), location.href).href);
    // A stand-in window: vendor code often calls focus() or reads .closed on what open() returned.
    return {
      closed: false,
      focus() {},
      blur() {},
      close() {},
      postMessage() {},
      location: { href: '' },
      document: null,
    };
  };
}

// Runs in every later document of the kiosk page; acts only in the adopted popup's document.
function openerStandIn(url: string): void {
  if (location.href === url && !window.opener)
    Object.defineProperty(window, 'opener', { value: window, configurable: true });
}

async function install(ctx: ConsoleContext): Promise<{ waiters: Waiter[] }> {
  let c = catchers.get(ctx.page);
  if (c) return c;
  const created = { waiters: [] as Waiter[] };
  catchers.set(ctx.page, created);
  await ctx.page.exposeBinding('__bmcConsoleOpen', (_source, url) => {
    for (const w of created.waiters.splice(0)) w(String(url));
  });
  await ctx.page.addInitScript(catchWindowOpen);
  // Frames and the current document: the init script covers later documents.
  for (const f of ctx.page.frames()) await f.evaluate(catchWindowOpen).catch(() => undefined);
  c = created;
  return c;
}

/**
 * Runs `trigger` (the click that opens the console window) and opens that window's address in the kiosk page.
 * Returns the address, or null when nothing was opened within the timeout. Real popups (target=_blank links)
 * are taken over the same way.
 */
export async function adoptPopup(
  ctx: ConsoleContext,
  trigger: () => Promise<void>,
  opts: {
    timeoutMs?: number /** Polled: true ends the wait early (the console opened in place). */;
    stopWhen?: () => Promise<boolean>;
  } = {},
): Promise<string | null> {
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const c = await install(ctx);
  let timer: NodeJS.Timeout | undefined;
  let poll: NodeJS.Timeout | undefined;
  let resolveOpened: (url: string | null) => void = () => undefined;
  // A real popup (target=_blank): its address, then it is closed. The navigation guard leaves a popup alone while this
  // listener is registered, so it is registered only while we wait (a stale one would let the BMC's next window live).
  const onPage = (p: Page): void => {
    ctx.context.off('page', onPage);
    void (async () => {
      await p.waitForURL((u) => u.protocol !== 'about:', { timeout: timeoutMs }).catch(() => undefined);
      const url = p.url();
      await p.close().catch(() => undefined);
      resolveOpened(url.startsWith('about:') ? null : url);
    })();
  };
  const opened = new Promise<string | null>((resolve) => {
    resolveOpened = resolve;
    c.waiters.push(resolve);
    timer = setTimeout(() => resolve(null), timeoutMs);
    if (opts.stopWhen) {
      const stop = opts.stopWhen;
      const tick = (): void => {
        poll = setTimeout(() => {
          void stop().then(
            (yes) => (yes ? resolve(null) : tick()),
            () => tick(),
          );
        }, 200);
      };
      tick();
    }
    ctx.context.on('page', onPage);
  });
  void opened.then(() => ctx.context.off('page', onPage));
  try {
    await abortable(ctx.signal, trigger());
    const url = await abortable(ctx.signal, opened);
    if (!url) return null;
    // The vendor page may navigate on its own right after opening the window; let that finish first.
    await ctx.page.waitForLoadState('domcontentloaded').catch(() => undefined);
    // Viewers opened as popups may insist on window.opener (AMI's H5Viewer does): give that document a stand-in.
    await ctx.page.addInitScript(openerStandIn, url);
    await goto(ctx, url, 'Opening the console').catch(async () => goto(ctx, url, 'Opening the console'));
    return url;
  } finally {
    ctx.context.off('page', onPage);
    clearTimeout(timer);
    clearTimeout(poll);
    c.waiters.length = 0;
  }
}
