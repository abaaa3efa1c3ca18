/**
 * The navigation guard with real Chromium: a "BMC" origin and a foreign one on loopback; documents from the foreign
 * one are refused however the page asks for them (goto, iframe, redirect, popup, location.href), the BMC's own
 * load, and the log names the foreign origin only, never its path or query. Popups to the BMC's own origin are
 * closed unless a vendor script waits for one, under Chromium's popup blocker as launchChromium has it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CHROMIUM_EXECUTABLE } from 'bmc-console/supervisor/chromium';
import { guardContext, NavigationAllowList, originForLog } from 'bmc-console/supervisor/navigation-guard';
import { type Browser, type BrowserContext, launchBrowser } from '../src/cdp/browser.js';
import type { Page } from '../src/cdp/page.js';

describe('NavigationAllowList', () => {
  const list = new NavigationAllowList(['https://10.0.0.5']);
  list.addPort('https://10.0.0.5', 3900);

  it('allows the BMC origin and its extra KVM port, and our own local documents', () => {
    expect(list.allows('https://10.0.0.5/restgui/index.html?x=1')).toBe(true);
    expect(list.allows('https://10.0.0.5:443/login')).toBe(true);
    expect(list.allows('https://10.0.0.5:3900/')).toBe(true);
    expect(list.allows('about:blank')).toBe(true);
    expect(list.allows('about:blank#x')).toBe(true);
    expect(list.allows('about:srcdoc')).toBe(true);
  });

  it('refuses other hosts, ports and schemes', () => {
    for (const url of [
      'https://10.0.0.6/',
      'https://10.0.0.5:8443/',
      'http://10.0.0.5/',
      'https://10.0.0.5.evil.example/',
      'file:///etc/passwd',
      'data:text/html,hi',
      'javascript:alert(1)',
      'chrome://settings',
      'view-source:https://10.0.0.5/',
      'blob:https://10.0.0.5/1234',
      'about:settings',
      'not a url',
    ])
      expect(list.allows(url), url).toBe(false);
  });

  it('logs origins only', () => {
    expect(originForLog('https://evil.example:8443/path?session=abc#t')).toBe('https://evil.example:8443');
    expect(originForLog('data:text/html,secret')).toBe('data:');
    expect(originForLog('::')).toBe('an invalid URL');
  });
});

/** A loopback HTTP server that counts document requests by path. */
function server(
  handler: (req: IncomingMessage, res: ServerResponse, self: { origin: string }) => void,
): Promise<{ server: Server; origin: string; hits: string[] }> {
  const hits: string[] = [];
  const self = { origin: '' };
  const s = createServer((req, res) => {
    hits.push(req.url ?? '');
    handler(req, res, self);
  });
  return new Promise((resolve) => {
    s.listen(0, '127.0.0.1', () => {
      self.origin = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
      resolve({ server: s, origin: self.origin, hits });
    });
  });
}

const html = (res: ServerResponse, body: string) => {
  res.writeHead(200, { 'content-type': 'text/html' });
  res.end(`<!doctype html><title>t</title>${body}`);
};

describe('guardContext in Chromium', () => {
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let bmc: Awaited<ReturnType<typeof server>>;
  let foreign: Awaited<ReturnType<typeof server>>;
  const lines: string[] = [];

  beforeAll(async () => {
    foreign = await server((_req, res) => html(res, '<h1 id="foreign">foreign</h1>'));
    bmc = await server((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      if (u.pathname === '/redirect') {
        res.writeHead(302, { location: `${foreign.origin}/landed?session=s3cr3t-redirect` });
        return void res.end();
      }
      if (u.pathname === '/iframe')
        return html(
          res,
          `<iframe id="f" src="${foreign.origin}/framed?session=s3cr3t-frame"></iframe><iframe id="own" src="/own-frame"></iframe>`,
        );
      if (u.pathname === '/autopopup')
        return html(res, "<script>window.opened = window.open('/own-popup') !== null</script>");
      if (u.pathname === '/popup')
        return html(
          res,
          `<a id="a" target="_blank" href="${foreign.origin}/popup?session=s3cr3t-popup">x</a><a id="own" target="_blank" href="/own-popup">y</a>` +
            '<button id="open" onclick="window.open(\'/own-popup\')">z</button>',
        );
      html(res, `<h1 id="bmc">bmc ${u.pathname}</h1>`);
    });
    // Chromium's popup blocker on, as launchChromium has it (the driver adds no --disable-popup-blocking).
    browser = await launchBrowser({ executablePath: CHROMIUM_EXECUTABLE, headless: true, args: ['--no-sandbox'] });
    context = await browser.newContext();
    page = await context.newPage();
    const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(s) });
    await guardContext(context, page, new NavigationAllowList([bmc.origin]), log);
  });
  afterAll(async () => {
    await browser?.close();
    bmc?.server.close();
    foreign?.server.close();
  });
  beforeEach(async () => {
    await page.goto(`${bmc.origin}/start`);
    foreign.hits.length = 0;
    lines.length = 0;
  });

  const refusals = () => lines.filter((l) => l.includes('navigation refused'));

  it('loads the BMC origin and keeps status pages (about:blank, setContent) working', async () => {
    expect(await page.locator('#bmc').textContent()).toBe('bmc /start');
    await page.goto('about:blank');
    await page.setContent('<p id="s">status</p>');
    expect(await page.locator('#s').textContent()).toBe('status');
    expect(refusals()).toEqual([]);
  });

  it('refuses a top-level navigation elsewhere: the page stays where it was, no request leaves', async () => {
    await expect(page.goto(`${foreign.origin}/x?session=s3cr3t-goto`)).rejects.toThrow(/ERR_ABORTED/);
    expect(page.url()).toBe(`${bmc.origin}/start`);
    await page.evaluate((u) => (location.href = u), `${foreign.origin}/y?session=s3cr3t-href`);
    await sleep(500);
    expect(page.url()).toBe(`${bmc.origin}/start`);
    expect(foreign.hits).toEqual([]);
    expect(refusals().length).toBeGreaterThanOrEqual(2);
    // A page that retries in a loop does not flood the log: one warning per origin, repeats at debug level.
    expect(refusals().filter((l) => l.includes('"level":40'))).toHaveLength(1);
    for (const l of refusals()) {
      expect(l).toContain(foreign.origin);
      expect(l).not.toContain('s3cr3t');
      expect(l).toContain('"frame":"main"');
    }
  });

  it('refuses a redirect to another origin', async () => {
    await expect(page.goto(`${bmc.origin}/redirect`)).rejects.toThrow(/ERR_ABORTED/);
    expect(foreign.hits).toEqual([]);
    expect(refusals().join('\n')).not.toContain('s3cr3t');
  });

  it('refuses a foreign iframe and loads the BMC’s own', async () => {
    await page.goto(`${bmc.origin}/iframe`);
    await expect
      .poll(
        () =>
          page
            .frames()
            .find((f) => f.url().endsWith('/own-frame'))
            ?.locator('#bmc')
            .textContent() ?? null,
      )
      .toBe('bmc /own-frame');
    await sleep(300);
    expect(foreign.hits).toEqual([]);
    expect(refusals().some((l) => l.includes('"frame":"sub"'))).toBe(true);
  });

  it('closes a popup to another origin', async () => {
    await page.goto(`${bmc.origin}/popup`);
    // The page's popup event: a listener on the context's would count as a vendor script waiting (next test).
    const popup = page.waitForEvent('popup') as Promise<Page>;
    await page.locator('#a').click();
    const p = await popup;
    await expect.poll(() => p.isClosed(), { timeout: 5000 }).toBe(true);
    expect(foreign.hits).toEqual([]);
    expect(refusals().length).toBeGreaterThanOrEqual(1);
    for (const l of refusals()) expect(l).toContain('"frame":"popup"');
    expect(refusals().join('\n')).not.toContain('s3cr3t');
  });

  it('closes a popup to another origin while a vendor script waits for a popup', async () => {
    await page.goto(`${bmc.origin}/popup`);
    const popup = context.waitForEvent('page') as Promise<Page>;
    await page.locator('#a').click();
    const p = await popup;
    try {
      await expect.poll(() => p.isClosed(), { timeout: 5000 }).toBe(true);
      expect(foreign.hits).toEqual([]);
      expect(refusals().length).toBeGreaterThanOrEqual(1);
      expect(refusals().join('\n')).not.toContain('s3cr3t');
    } finally {
      await p.close(); // not left to the next test when the guard kept it
    }
  });

  it('closes a popup to the BMC’s own origin that no vendor script waits for, and logs it', async () => {
    await page.goto(`${bmc.origin}/popup`);
    for (const open of [() => page.locator('#own').click(), () => page.locator('#open').click()]) {
      lines.length = 0;
      // The page's popup event: a listener on the context's would count as a vendor script waiting.
      const popup = page.waitForEvent('popup') as Promise<Page>;
      await open();
      const p = await popup;
      await expect.poll(() => p.isClosed(), { timeout: 5000 }).toBe(true);
      expect(lines.some((l) => l.includes('popup closed'))).toBe(true);
    }
    expect(page.isClosed()).toBe(false);
    expect(context.pages()).toEqual([page]);
  });

  it('leaves a popup a vendor script waits for (adoptPopup) to that script', async () => {
    await page.goto(`${bmc.origin}/popup`);
    const taken = new Promise<{ url: string; closedByGuard: boolean }>((resolve) => {
      context.once('page', (p) => {
        void (async () => {
          await p.waitForURL((u) => u.protocol !== 'about:', { timeout: 5000 }).catch(() => undefined);
          await sleep(300);
          const closedByGuard = p.isClosed();
          const url = p.url();
          await p.close().catch(() => undefined);
          resolve({ url, closedByGuard });
        })();
      });
    });
    await page.locator('#own').click();
    expect(await taken).toEqual({ url: `${bmc.origin}/own-popup`, closedByGuard: false });
  });

  it('opens no popup without a user gesture, and keeps a page the supervisor opens itself', async () => {
    // The page's own script, which runs without a user gesture.
    await page.goto(`${bmc.origin}/autopopup`);
    expect(await page.evaluate(() => (window as unknown as { opened: boolean }).opened)).toBe(false);
    const own = await context.newPage();
    await sleep(500);
    expect(own.isClosed()).toBe(false);
    await own.close();
  });
});
