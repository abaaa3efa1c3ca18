/**
 * The step overlay on BMC pages, in real Chromium: it shows the supervisor's step, goes once the step is null and
 * then stops asking (a KVM page shown for hours would otherwise cost a round trip twice a second), and comes back
 * when the supervisor wakes it with a new step.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_EXECUTABLE } from 'bmc-console/supervisor/chromium';
import { STEP_OVERLAY_FUNCTION, STEP_OVERLAY_WAKE, stepOverlayInitScript } from 'bmc-console/status-page/status-page';
import { evaluateQuietly } from '../vendor-scripts/lib/quiet.js';
import { type Browser, type BrowserContext, launchBrowser } from '../src/cdp/browser.js';
import type { Page } from '../src/cdp/page.js';

const OVERLAY = '#__bmc_console_step_overlay';

describe('the step overlay on a BMC page', () => {
  let server: Server;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let step: string | null = 'Logging in';
  let asked = 0;

  beforeAll(async () => {
    server = createServer((_req, res) =>
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end('<!doctype html><title>kvm</title><body><canvas></canvas>'),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    browser = await launchBrowser({ executablePath: CHROMIUM_EXECUTABLE, headless: true, args: ['--no-sandbox'] });
    context = await browser.newContext();
    await context.exposeFunction(STEP_OVERLAY_FUNCTION, () => {
      asked++;
      return step;
    });
    await context.addInitScript(stepOverlayInitScript);
    page = await context.newPage();
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    server?.close();
  });

  it('shows the step, stops asking once it is null, and shows a new step when woken', async () => {
    await expect.poll(() => page.locator(OVERLAY).textContent(), { timeout: 10_000 }).toBe('bmc-console: Logging in');
    step = null;
    await expect.poll(() => page.locator(OVERLAY).count(), { timeout: 10_000 }).toBe(0);
    const before = asked;
    await sleep(1500);
    expect(asked).toBe(before);
    step = 'Reconnecting';
    await evaluateQuietly(page, STEP_OVERLAY_WAKE);
    await expect.poll(() => page.locator(OVERLAY).textContent(), { timeout: 10_000 }).toBe('bmc-console: Reconnecting');
    // A wake while it still asks (the step shows) changes nothing but the pace of one question.
    await evaluateQuietly(page, STEP_OVERLAY_WAKE);
    step = null;
    await expect.poll(() => page.locator(OVERLAY).count(), { timeout: 10_000 }).toBe(0);
  }, 60_000);
});
