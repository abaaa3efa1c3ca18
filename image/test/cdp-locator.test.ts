/**
 * The driver's locators in real Chromium (headless): every selector kind the vendor scripts write, visibility as
 * Playwright tells it, getByRole, frame locators into <iframe> and <frame>, and the actions (click, fill,
 * pressSequentially, check) with their waits, strict mode and timeouts.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { launchBrowser, type Browser } from '../src/cdp/browser.js';
import { Frame } from '../src/cdp/frame.js';
import type { Page } from '../src/cdp/page.js';
import { CHROMIUM_EXECUTABLE } from '../src/supervisor/chromium.js';

const SELECTORS = `<!doctype html><body>
<p class="msg">The console is <b>busy</b> now</p>
<p class="other">Session   expired</p>
<div id="host"></div>
<script>document.getElementById('host').attachShadow({ mode: 'open' }).innerHTML = '<em class="deep">Max sessions</em>';</script>
<ul><li>one</li><li>two</li><li>three</li></ul>
<button class="cux-button">Remote Console</button>
<button>Other</button>
<script>var decoy = "script text: console is busy";</script>
</body>`;

const VISIBILITY = `<!doctype html><body>
<p id="shown">shown</p>
<p id="none" style="display:none">none</p>
<p id="hidden" style="visibility:hidden">hidden</p>
<p id="zero" style="width:0;height:0;overflow:hidden">zero</p>
<div style="display:none"><span id="in-hidden">in hidden parent</span></div>
<span id="contents" style="display:contents"><i>in contents</i></span>
</body>`;

const ROLES = `<!doctype html><body>
<a href="/submit" id="submit">Submit</a>
<a href="/launch" id="launch"><img alt="Launch" src="data:image/gif;base64,R0lGODlhAQABAAAAACw="></a>
<a id="no-href">Submit without href</a>
<a href="/hidden" style="display:none">Continue</a>
<a href="/continue" id="continue">Continue</a>
<button id="rc">Launch Remote Console</button>
<button id="close" aria-label="Close dialog">X</button>
<input type="submit" id="go" value="Go">
<h2>Heading</h2>
</body>`;

const ACTIONS = `<!doctype html><body>
<button id="count" onclick="this.dataset.clicks = Number(this.dataset.clicks || 0) + 1">count</button>
<button id="off" disabled onclick="this.dataset.clicks = 1">off</button>
<input id="field" value="old">
<input id="keys">
<input type="checkbox" id="keep">
<script>
  window.inputs = 0; window.keydowns = 0;
  document.getElementById('field').addEventListener('input', () => window.inputs++);
  document.getElementById('keys').addEventListener('keydown', () => window.keydowns++);
</script>
</body>`;

/** A frameset page (as iDRAC 7/8 has) and its frames, served over http. */
function frameServer(): Server {
  return createServer((req, res) => {
    res.setHeader('content-type', 'text/html');
    if (req.url === '/frameset')
      res.end(
        '<!doctype html><frameset cols="50%,50%"><frame name="menu" src="/menu"><frame name="da" src="/da"></frameset>',
      );
    else if (req.url === '/menu') res.end('<!doctype html><body><a href="#">Menu</a></body>');
    else if (req.url === '/da')
      res.end(
        `<!doctype html><body><a href="#" id="launch" onclick="this.dataset.clicks = Number(this.dataset.clicks || 0) + 1; return false">Launch</a></body>`,
      );
    else if (req.url === '/later')
      res.end(
        `<!doctype html><body><script>setTimeout(() => document.body.insertAdjacentHTML('beforeend', '<p id="later">here</p>'), 300)</script></body>`,
      );
    else res.end('<!doctype html><body>nothing</body>');
  });
}

describe('cdp locators', () => {
  let browser: Browser;
  let page: Page;
  let server: Server;
  let origin: string;

  beforeAll(async () => {
    server = frameServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchBrowser({
      executablePath: CHROMIUM_EXECUTABLE,
      headless: true,
      args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
    });
    page = await browser.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => server?.close(r));
  });

  describe('selectors', () => {
    beforeEach(() => page.setContent(SELECTORS));

    it('CSS, CSS lists, open shadow roots and css=', async () => {
      expect(await page.locator('p').count()).toBe(2);
      expect(await page.locator('p.msg, li').count()).toBe(4);
      expect(await page.locator('em.deep').textContent()).toBe('Max sessions');
      expect(await page.locator('css=p.other').count()).toBe(1);
      expect(await page.locator('#nothing').count()).toBe(0);
    });

    it('text=/regex/flags, text="exact" and text=words match the innermost element', async () => {
      const busy = page.locator('text=/console is busy/i');
      expect(await busy.count()).toBe(1);
      expect(await busy.getAttribute('class')).toBe('msg');
      expect(await page.locator('text=busy').evaluate((el) => el.tagName)).toBe('B');
      expect(await page.locator('text="Session expired"').getAttribute('class')).toBe('other');
      expect(await page.locator('text="session expired"').count()).toBe(0);
      expect(await page.locator('text=SESSION expired').count()).toBe(1);
      expect(await page.locator('text=/max sessions/i').textContent()).toBe('Max sessions');
      // As Playwright: an anchored regex is tried on every element, not only under elements whose text matches it.
      expect(await page.locator('text=/^two$/').textContent()).toBe('two');
      // "exact" matches a run of the element's own text: <p>The console is <b>busy</b> now</p> has none equal to it.
      expect(await page.locator('text="The console is busy now"').count()).toBe(0);
      expect(await page.locator('text="now"').getAttribute('class')).toBe('msg');
    });

    it(':has-text, >> chains, first() and nth()', async () => {
      expect(await page.locator('button:has-text("remote console")').getAttribute('class')).toBe('cux-button');
      expect(await page.locator('body button:has-text("Other"), li:has-text("two")').count()).toBe(2);
      expect(await page.locator('ul >> li').count()).toBe(3);
      expect(await page.locator('ul').locator('text=two').textContent()).toBe('two');
      expect(await page.locator('li').first().textContent()).toBe('one');
      expect(await page.locator('li').nth(2).textContent()).toBe('three');
      expect(await page.locator('li').nth(5).count()).toBe(0);
    });

    it('an invalid selector fails at once', async () => {
      await expect(page.locator('p[').count()).rejects.toThrow(/not a valid selector/i);
    });
  });

  it('visibility as Playwright has it', async () => {
    await page.setContent(VISIBILITY);
    const shown = async (id: string): Promise<boolean> => page.locator(`#${id}`).isVisible();
    expect(await shown('shown')).toBe(true);
    expect(await shown('none')).toBe(false);
    expect(await shown('hidden')).toBe(false);
    expect(await shown('zero')).toBe(false);
    expect(await shown('in-hidden')).toBe(false);
    expect(await shown('contents')).toBe(true);
    expect(await shown('missing')).toBe(false);
    await page.locator('#shown').waitFor();
    await page.locator('#none').waitFor({ state: 'hidden', timeout: 500 });
    await page.locator('#none').waitFor({ state: 'attached', timeout: 500 });
    await page.locator('#missing').waitFor({ state: 'detached', timeout: 500 });
  });

  it('getByRole: links and buttons by string and RegExp names', async () => {
    await page.setContent(ROLES);
    const id = (l: { getAttribute(n: string): Promise<string | null> }): Promise<string | null> => l.getAttribute('id');
    expect(await id(page.getByRole('link', { name: 'Submit' }))).toBe('submit');
    expect(await id(page.getByRole('link', { name: 'launch' }))).toBe('launch');
    expect(await id(page.getByRole('link', { name: 'Continue' }))).toBe('continue');
    expect(await page.getByRole('link').count()).toBe(3);
    expect(await id(page.getByRole('button', { name: /remote console/i }))).toBe('rc');
    expect(await page.getByRole('button', { name: /^remote/i }).count()).toBe(0);
    expect(await id(page.getByRole('button', { name: 'Close dialog', exact: true }))).toBe('close');
    expect(await page.getByRole('button', { name: 'close DIALOG', exact: true }).count()).toBe(0);
    expect(await id(page.getByRole('button', { name: 'go' }))).toBe('go');
    expect(await page.getByRole('heading', { name: 'Heading' }).count()).toBe(1);
  });

  it('frameLocator into an iframe (srcdoc) and a <frame>', async () => {
    await page.setContent(
      `<!doctype html><body><iframe id="f" srcdoc="<button id='in'>Inside</button><p>deep text</p>"></iframe></body>`,
    );
    const inner = page.frameLocator('#f');
    await inner.locator('#in').waitFor({ timeout: 5_000 });
    expect(await inner.getByRole('button', { name: 'Inside' }).count()).toBe(1);
    expect(await inner.locator('text=deep').textContent()).toBe('deep text');
    expect(await page.locator('#in').count()).toBe(0);

    await page.goto(`${origin}/frameset`);
    const launch = page.frameLocator('frame[name="da"]').getByRole('link', { name: 'Launch' });
    await launch.waitFor({ timeout: 5_000 });
    await launch.click();
    await launch.click();
    expect(await launch.getAttribute('data-clicks')).toBe('2');
  });

  describe('actions', () => {
    beforeEach(() => page.setContent(ACTIONS));

    it('click clicks once per call', async () => {
      const b = page.locator('#count');
      await b.click();
      await b.click();
      expect(await b.getAttribute('data-clicks')).toBe('2');
    });

    it('a click on a disabled button waits for it, then times out naming the selector', async () => {
      const off = page.locator('#off');
      const started = Date.now();
      const err = await off.click({ timeout: 400 }).catch((e: unknown) => e as Error);
      expect(Date.now() - started).toBeGreaterThanOrEqual(400);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).name).toBe('TimeoutError');
      expect((err as Error).message).toContain('#off');
      expect(await off.getAttribute('data-clicks')).toBeNull();

      // Enabled while the click waits: it goes through.
      const waiting = off.click({ timeout: 5_000 });
      await page.evaluate("setTimeout(() => { document.getElementById('off').disabled = false }, 300)");
      await waiting;
      expect(await off.getAttribute('data-clicks')).toBe('1');
    });

    it('fill replaces the value with input events; an empty value clears it', async () => {
      const field = page.locator('#field');
      await field.fill('new value');
      expect(await field.evaluate((el) => (el as HTMLInputElement).value)).toBe('new value');
      expect(await page.evaluate('window.inputs')).toBeGreaterThanOrEqual(1);
      const before = await page.evaluate<number>('window.inputs');
      await field.fill('');
      expect(await field.evaluate((el) => (el as HTMLInputElement).value)).toBe('');
      expect(await page.evaluate<number>('window.inputs')).toBe(before + 1);
    });

    it('pressSequentially types key by key with the delay', async () => {
      const keys = page.locator('#keys');
      const started = Date.now();
      await keys.pressSequentially('aB3 x', { delay: 30 });
      expect(Date.now() - started).toBeGreaterThanOrEqual(5 * 30);
      expect(await keys.evaluate((el) => (el as HTMLInputElement).value)).toBe('aB3 x');
      expect(await page.evaluate('window.keydowns')).toBe(5);
    });

    it('check checks a checkbox once', async () => {
      const keep = page.locator('#keep');
      await keep.check();
      expect(await keep.evaluate((el) => (el as HTMLInputElement).checked)).toBe(true);
      await keep.check();
      expect(await keep.evaluate((el) => (el as HTMLInputElement).checked)).toBe(true);
      await expect(page.locator('#count').check({ timeout: 500 })).rejects.toThrow(/not a checkbox/);
    });

    it('releases every element handle it takes', async () => {
      const take = vi.spyOn(Frame.prototype, 'callFunctionHandle');
      const release = vi.spyOn(Frame.prototype, 'releaseHandle');
      try {
        await page.locator('#count').click();
        await page.locator('#field').fill('x');
        await page.locator('#keep').check();
        await page.locator('#field').evaluate((el) => el.id);
        await page.evaluate(
          `document.body.insertAdjacentHTML('beforeend', '<iframe id="f" srcdoc="<button>in</button>"></iframe>')`,
        );
        await page.frameLocator('#f').locator('button').click({ timeout: 5_000 });
        const taken = (await Promise.all(take.mock.results.map((r) => r.value as Promise<string | null>))).filter(
          (id): id is string => id !== null,
        );
        expect(taken.length).toBeGreaterThanOrEqual(5);
        expect(release.mock.calls.map((c) => c[0]).sort()).toEqual(taken.sort());
      } finally {
        take.mockRestore();
        release.mockRestore();
      }
    });

    it('an action on several matches is a strict mode violation unless first() or nth() picks one', async () => {
      await expect(page.locator('button').click({ timeout: 1_000 })).rejects.toThrow(
        /strict mode violation: locator\('button'\) resolved to 2 elements/,
      );
      await expect(page.locator('input').textContent({ timeout: 1_000 })).rejects.toThrow(/strict mode violation/);
      await page.locator('button').first().click();
      expect(await page.locator('#count').getAttribute('data-clicks')).toBe('1');
    });
  });

  it('waits time out with a TimeoutError, and carry on across a navigation', async () => {
    await page.setContent('<!doctype html><body></body>');
    const err = await page
      .locator('#never')
      .waitFor({ timeout: 300 })
      .catch((e: unknown) => e as Error);
    expect((err as Error).name).toBe('TimeoutError');
    expect((err as Error).message).toContain("locator('#never')");
    await expect(page.locator('#never').textContent({ timeout: 300 })).rejects.toThrow(/Timeout 300ms/);

    const later = page.locator('#later').waitFor({ timeout: 10_000 });
    await page.goto(`${origin}/later`);
    await later;
    expect(await page.locator('#later').textContent()).toBe('here');
  });
});
