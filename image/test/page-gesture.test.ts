/**
 * The vendor scripts' page checks in real Chromium (popup blocker on, as launchChromium has it): polled every
 * 200 ms, neither lib/quiet.ts nor the driver's page.evaluate and locator queries (isVisible, count) give the page
 * user activation, so a window.open on the page's own timer stays blocked; a click through the driver (Input
 * events: the script acting as the user) does activate it (the positive control). Also: the quiet checks answer as
 * the driver's locators do, cost no more per poll than the same checks made with the driver's evaluate and
 * locators, hideChrome's CSS goes in quietly as well, and adoptPopup leaves no listener behind when nothing opens.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { CHROMIUM_EXECUTABLE } from 'bmc-console/supervisor/chromium';
import type { ConsoleContext } from '../src/vendor-script.js';
import { hideChrome } from '../vendor-scripts/lib/fullscreen.js';
import { outcomeNow, type KvmPage } from '../vendor-scripts/lib/kvm.js';
import { adoptPopup } from '../vendor-scripts/lib/popup.js';
import { evaluateQuietly, lookQuietly, QuietSelectorError } from '../vendor-scripts/lib/quiet.js';
import { type Browser, type BrowserContext, launchBrowser } from '../src/cdp/browser.js';
import type { Page } from '../src/cdp/page.js';

// A "KVM" page that tries to open a window every 100 ms and counts what it got.
const HOSTILE = `<!doctype html><title>kvm</title><body data-kvm="ok"><canvas id="kvm" width="64" height="48"></canvas>
<script>
  window.seen = { active: 0, opened: 0, tries: 0 };
  setInterval(function () {
    window.seen.tries++;
    if (navigator.userActivation.isActive) window.seen.active++;
    if (window.open('/popup', '_blank')) window.seen.opened++;
  }, 100);
</script>`;

// The same KVM page without the window.open timer, for timing.
const CALM =
  '<!doctype html><title>kvm</title><body data-kvm="ok"><nav>menu</nav><canvas id="kvm" width="64" height="48"></canvas>';

// Elements that are visible or hidden in the ways the driver's isVisible (Playwright's rules) tells apart.
const FIXTURE = `<!doctype html><title>f</title><body>
<div id="hidden-first" style="display:none">Console is busy</div>
<p class="msg">The console is <b>busy</b> now</p>
<p class="gone" style="visibility:hidden">session expired</p>
<p class="zero" style="width:0;height:0;overflow:hidden">invalid session</p>
<span id="contents" style="display:contents"><i>in contents</i></span>
<canvas width="10" height="10"></canvas>
<input name="username">
<div id="host"></div>
<script>document.getElementById('host').attachShadow({ mode: 'open' }).innerHTML = '<em class="deep">Max sessions are already connected</em>';</script>
<script>var nothing = "script text: held by another";</script>
</body>`;

const viewer: KvmPage = {
  kvm: 'canvas',
  login: '#username',
  busy: 'text=/console is busy/i',
  invalid: 'text=/session expired/i',
};

describe('page checks without a user gesture', () => {
  let server: Server;
  let origin: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(
        req.url === '/fixture'
          ? FIXTURE
          : req.url === '/calm'
            ? CALM
            : req.url === '/'
              ? HOSTILE
              : '<!doctype html><title>popup</title>',
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // The driver adds no --disable-popup-blocking: Chromium's popup blocker is on, as in the console.
    browser = await launchBrowser({ executablePath: CHROMIUM_EXECUTABLE, headless: true, args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await browser?.close();
    server?.close();
  });
  beforeEach(async () => {
    context = await browser.newContext();
    page = await context.newPage();
  });
  afterEach(async () => {
    await context.close();
  });

  const seen = (p: Page) => evaluateQuietly<{ active: number; opened: number; tries: number }>(p, 'window.seen');

  async function pollFor(ms: number, poll: () => Promise<unknown>): Promise<unknown[]> {
    const answers: unknown[] = [];
    const end = Date.now() + ms;
    while (Date.now() < end) {
      answers.push(await poll());
      await sleep(200);
    }
    return answers;
  }

  it('polled quietly every 200 ms, the page gets no activation and opens no window', async () => {
    await page.goto(`${origin}/`);
    const answers = await pollFor(3000, () => outcomeNow(page, viewer));
    expect(answers.length).toBeGreaterThanOrEqual(10);
    expect(new Set(answers)).toEqual(new Set(['kvm']));
    const s = await seen(page);
    expect(s.tries).toBeGreaterThanOrEqual(20);
    expect(s).toMatchObject({ active: 0, opened: 0 });
    expect(await evaluateQuietly(page, 'navigator.userActivation.hasBeenActive')).toBe(false);
    expect(context.pages()).toEqual([page]);
  });

  it('hideChrome, the last step of open(), leaves the page without activation too', async () => {
    await page.goto(`${origin}/`);
    const ctx = { page, context, signal: new AbortController().signal } as unknown as ConsoleContext;
    await hideChrome(ctx, { fill: ['#kvm'] });
    await sleep(800);
    expect(await evaluateQuietly(page, "getComputedStyle(document.getElementById('kvm')).position")).toBe('fixed');
    expect(await seen(page)).toMatchObject({ active: 0, opened: 0 });
  });

  it('polled with the driver’s page.evaluate, the page gets no activation either (Playwright’s gave one)', async () => {
    await page.goto(`${origin}/`);
    const answers = await pollFor(1500, () => page.evaluate(() => document.body.getAttribute('data-kvm')));
    expect(new Set(answers)).toEqual(new Set(['ok']));
    const s = await seen(page);
    expect(s.tries).toBeGreaterThanOrEqual(10);
    expect(s).toMatchObject({ active: 0, opened: 0 });
    expect(await evaluateQuietly(page, 'navigator.userActivation.hasBeenActive')).toBe(false);
    expect(context.pages()).toEqual([page]);
  });

  it('the driver’s locator queries (isVisible, count) give no activation either', async () => {
    await page.goto(`${origin}/`);
    const answers = await pollFor(1500, async () => [
      await page.locator('canvas').first().isVisible(),
      await page.locator('canvas').count(),
    ]);
    expect(answers.length).toBeGreaterThanOrEqual(5);
    for (const a of answers) expect(a).toEqual([true, 1]);
    const s = await seen(page);
    expect(s.tries).toBeGreaterThanOrEqual(10);
    expect(s).toMatchObject({ active: 0, opened: 0 });
    expect(await evaluateQuietly(page, 'navigator.userActivation.hasBeenActive')).toBe(false);
    expect(context.pages()).toEqual([page]);
  });

  it('a click through the driver is the user’s (the positive control): the page is activated and opens a window', async () => {
    await page.goto(`${origin}/`);
    await page.locator('#kvm').click();
    await expect.poll(async () => (await seen(page)).opened, { timeout: 5000 }).toBeGreaterThan(0);
    expect((await seen(page)).active).toBeGreaterThan(0);
    await expect.poll(() => context.pages().length, { timeout: 5000 }).toBeGreaterThan(1);
  });

  it('answers as the driver’s locator(s).first().isVisible() does', async () => {
    await page.goto(`${origin}/fixture`);
    const selectors = {
      msg: 'text=/console is busy/i',
      busyWords: 'text=console is busy',
      expired: 'text=/session expired/i',
      zero: 'text=/invalid session/i',
      contents: '#contents',
      shadow: 'text=/Max sessions are already connected/i',
      shadowCss: '.deep',
      script: 'text=/held by another/i',
      canvas: 'canvas',
      login: 'input[name="username"], #user',
      missing: '#nope',
      exact: 'text="busy"',
    };
    const quiet = await lookQuietly(page, selectors);
    const locators: Record<string, boolean> = {};
    for (const [k, s] of Object.entries(selectors)) locators[k] = await page.locator(s).first().isVisible();
    expect(quiet.shown).toEqual(locators);
    expect(quiet.state).toBeNull();
  });

  it('takes the locators’ selector syntax, and reports an invalid selector as a script bug', async () => {
    await page.goto(`${origin}/fixture`);
    const selectors = {
      hasText: 'div:has-text("console is busy")',
      chain: 'body >> canvas',
      role: 'internal:role=button',
    };
    const quiet = await lookQuietly(page, selectors);
    for (const [k, s] of Object.entries(selectors))
      expect(quiet.shown[k as keyof typeof selectors]).toBe(await page.locator(s).first().isVisible());
    await expect(outcomeNow(page, { kvm: 'canvas[' })).rejects.toThrow(QuietSelectorError);
  });

  it('awaits promises, and fails cleanly once the page is closed', async () => {
    await page.goto(`${origin}/fixture`);
    expect(await evaluateQuietly(page, 'new Promise((r) => setTimeout(() => r(42), 10))', { awaitPromise: true })).toBe(
      42,
    );
    await expect(evaluateQuietly(page, 'nope.nope')).rejects.toThrow(/nope/);
    await page.close();
    await expect(evaluateQuietly(page, '1')).rejects.toThrow(/closed/);
    expect(await outcomeNow(page, viewer)).toBe('ended');
  });

  it('keeps working across navigations on the same session', async () => {
    await page.goto(`${origin}/fixture`);
    expect(await outcomeNow(page, { ...viewer, busy: 'text=/Max sessions/i' })).toBe('busy');
    // The first match of the busy text is hidden: as locator(busy).first().isVisible() answers, not busy.
    expect(await outcomeNow(page, viewer)).toBe('kvm');
    await page.goto(`${origin}/`);
    expect(await outcomeNow(page, viewer)).toBe('kvm');
  });

  it('costs no more per poll than the same checks made with the driver’s evaluate and locators', async () => {
    await page.goto(`${origin}/calm`);
    const sel: KvmPage = {
      kvm: 'canvas',
      login: '#userid',
      busy: 'text=/maximum (number of )?sessions|in use/i',
      invalid: 'text=/session (has )?expired/i',
    };
    // Interleaved, so both see the same load on a busy machine; wall time as a median, and this process's CPU
    // (the driver runs here) in total.
    const runs = { quiet: { ms: [] as number[], cpu: 0 }, locators: { ms: [] as number[], cpu: 0 } };
    const once = async (r: { ms: number[]; cpu: number }, f: () => Promise<unknown>): Promise<void> => {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await f();
      r.ms.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      r.cpu += (c.user + c.system) / 1000;
    };
    for (let i = 0; i < 5; i++) await Promise.all([outcomeNow(page, sel), locatorOutcome(page, sel)]);
    for (let i = 0; i < 40; i++) {
      await once(runs.quiet, () => outcomeNow(page, sel));
      await once(runs.locators, () => locatorOutcome(page, sel));
    }
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? 0;
    const quiet = { ms: median(runs.quiet.ms), cpu: runs.quiet.cpu / 40 };
    const before = { ms: median(runs.locators.ms), cpu: runs.locators.cpu / 40 };
    console.log(
      `per poll (median wall, mean node CPU): quiet ${quiet.ms.toFixed(2)} ms, ${quiet.cpu.toFixed(2)} ms CPU; ` +
        `evaluate and locators ${before.ms.toFixed(2)} ms, ${before.cpu.toFixed(2)} ms CPU`,
    );
    expect(quiet.ms).toBeLessThanOrEqual(before.ms * 1.5);
    expect(quiet.cpu).toBeLessThanOrEqual(before.cpu * 1.5);
  });

  it('adoptPopup that times out leaves no page listener behind, so the next window is not taken as awaited', async () => {
    await page.goto(`${origin}/fixture`);
    const ctx = { page, context, signal: new AbortController().signal } as unknown as ConsoleContext;
    const listeners = () => context.listenerCount('page');
    const before = listeners();
    expect(await adoptPopup(ctx, async () => undefined, { timeoutMs: 300 })).toBeNull();
    expect(listeners()).toBe(before);
    const aborted = new AbortController();
    const waiting = adoptPopup({ ...ctx, signal: aborted.signal }, async () => undefined, { timeoutMs: 10_000 });
    await sleep(50);
    expect(listeners()).toBe(before + 1);
    aborted.abort();
    await expect(waiting).rejects.toThrow();
    expect(listeners()).toBe(before);
  });
});

/** outcomeNow done with the driver's evaluate and locator queries (the baseline lib/quiet.ts is compared with). */
async function locatorOutcome(page: Page, sel: KvmPage): Promise<string | null> {
  const visible = (s: string | undefined) =>
    s
      ? page
          .locator(s)
          .first()
          .isVisible()
          .catch(() => false)
      : Promise.resolve(false);
  const state = await page.evaluate(() => document.body?.getAttribute('data-kvm') ?? null).catch(() => null);
  const texts = [sel.busy, sel.invalid, sel.login].filter((t): t is string => Boolean(t));
  // The driver's locators have no or() nor visible(): a list of the text selectors, each first match looked at.
  const anyText = (await Promise.all(texts.map((t) => visible(t)))).some(Boolean);
  if (anyText && (await visible(sel.busy))) return 'busy';
  if (anyText && (await visible(sel.invalid))) return 'invalid';
  if (anyText && (await visible(sel.login))) return 'login';
  if ((state === null || state === 'ok') && (await visible(sel.kvm))) return 'kvm';
  return null;
}
