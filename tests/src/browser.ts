/** Headless Debian Chromium for tests and the demo's screenshot (never a downloaded browser). */
import { chromium, type Browser, type Page } from 'playwright-core';

const CHROMIUM_TEST_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-quic',
];

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_TEST_ARGS,
  });
}

export interface ViewerState {
  state: string;
  reason: string;
  readOnly: boolean;
}

export function viewerState(page: Page): Promise<ViewerState> {
  return page.evaluate(() => (window as unknown as { bmcViewer: ViewerState }).bmcViewer);
}

/** Opens a console URL in a fresh page of `browser` and waits until the viewer says it is connected. */
export async function openViewer(browser: Browser, url: string, timeoutMs = 60_000): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  await page.goto(url);
  await page.waitForFunction(
    () => (window as unknown as { bmcViewer?: { state: string } }).bmcViewer?.state === 'connected',
    undefined,
    { timeout: timeoutMs },
  );
  return page;
}
