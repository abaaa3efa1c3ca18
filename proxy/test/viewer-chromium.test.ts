// The viewer page in a real (headless) Chromium, through the proxy, to a real x11vnc on Xvfb showing a page in
// a real kiosk Chromium. Checks pixels, a click and typed text reaching that page, status texts, expiry,
// revocation, view-only and reconnect after a proxy restart. The agent is a fake agent.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startX11vnc, startXvfb, type TestDisplay, type TestVnc } from '@bmc-console/common/testing/rfb-display';
import { startProxy, type RunningProxy } from '../src/server.js';
import { startFakeAgent, type FakeAgent } from './fake-agent.js';

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-quic',
];
const NODE = '4c1f7d0e-2b4a-4e8e-9a55-7b7f0a2b9c01';
const W = 800;
const H = 600;
const SHOTS = process.env.BMC_TEST_SCREENSHOTS ?? join(import.meta.dirname, '../../.work/screenshots/proxy');

// The page behind x11vnc: a known colour, a text box at a known place, and an event log.
const KIOSK_PAGE = `<!doctype html><html><body style="margin:0;background:#3366cc;width:100vw;height:100vh;overflow:hidden">
<input id="box" style="position:absolute;left:100px;top:100px;width:300px;height:60px;font-size:32px;background:#ffffff;border:0;outline:0">
<script>window.events=[];addEventListener('mousedown',e=>events.push({type:'down',x:e.clientX,y:e.clientY,target:e.target.id}));</script>
</body></html>`;

let xvfb: TestDisplay;
let vnc: TestVnc;
let kioskContext: BrowserContext;
let kiosk: Page;
let viewerBrowser: Browser;
let viewer: BrowserContext;
let agent: FakeAgent;
let proxy: RunningProxy;
/** The first test's viewer stays open: the restart test reuses it (opening pages is the slow part). */
let firstViewer: Page | undefined;
const quiet = pino({ level: 'silent' });
const t0 = Date.now();
const lap = (what: string) =>
  process.env.VIEWER_DEBUG && console.log(`${((Date.now() - t0) / 1000).toFixed(1)}s ${what}`);

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  xvfb = await startXvfb(W, H);
  [kioskContext, vnc, agent, viewerBrowser] = await Promise.all([
    chromium.launchPersistentContext('', {
      executablePath: '/usr/bin/chromium',
      headless: false,
      viewport: null,
      args: [...CHROMIUM_ARGS, '--kiosk', `--window-size=${W},${H}`, '--window-position=0,0'],
      env: { ...process.env, DISPLAY: xvfb.display },
    }),
    startX11vnc(xvfb.display),
    startFakeAgent(),
    chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS }),
  ]);
  kiosk = kioskContext.pages()[0] ?? (await kioskContext.newPage());
  // One context for all viewer pages: they share the HTTP cache, so noVNC's modules load once.
  viewer = await viewerBrowser.newContext({ viewport: { width: 1000, height: 700 } });
  await kiosk.setContent(KIOSK_PAGE);
  proxy = await startProxy({ port: 0, agentUrl: agent.url, limits: { reverifyIntervalSec: 0.5 } }, { logger: quiet });
  lap('fixtures up');
});

afterAll(async () => {
  await viewerBrowser?.close();
  await kioskContext?.close();
  await proxy?.close();
  await Promise.all([vnc?.stop(), agent?.close()]);
  await xvfb?.stop();
});

async function openViewer(path: string): Promise<Page> {
  const page = await viewer.newPage();
  const cspErrors: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
  });
  lap('page opened');
  await page.goto(`${proxy.url}${path}`);
  lap('page loaded');
  (page as Page & { cspErrors?: string[] }).cspErrors = cspErrors;
  return page;
}

const viewerState = (page: Page) =>
  page.evaluate(() => (window as unknown as { bmcViewer: { state: string; reason: string } }).bmcViewer);
const untilState = async (page: Page, state: string) => {
  await expect.poll(async () => (await viewerState(page)).state, { timeout: 20_000 }).toBe(state);
  lap(`state ${state}`);
};

/** Colour of framebuffer pixel (x, y) as the viewer's canvas holds it. */
function canvasPixel(page: Page, x: number, y: number): Promise<number[]> {
  return page.evaluate(
    ([px, py]) => {
      const c = document.querySelector('#screen canvas') as HTMLCanvasElement;
      return [
        ...(c.getContext('2d') as CanvasRenderingContext2D).getImageData(px as number, py as number, 1, 1).data,
      ].slice(0, 3);
    },
    [x, y],
  );
}

/** Page coordinates in the viewer for framebuffer (x, y), through noVNC's scaling. */
async function viewerPoint(page: Page, x: number, y: number): Promise<{ x: number; y: number }> {
  return page.evaluate(
    ([fx, fy]) => {
      const c = document.querySelector('#screen canvas') as HTMLCanvasElement;
      const r = c.getBoundingClientRect();
      return { x: r.left + ((fx as number) * r.width) / c.width, y: r.top + ((fy as number) * r.height) / c.height };
    },
    [x, y],
  );
}

describe('viewer page through the proxy (real Chromium, x11vnc, Xvfb)', () => {
  it('shows the console, and a click and typed text reach the page behind x11vnc', async () => {
    const token = agent.issue({ node: NODE, host: '127.0.0.1', port: vnc.port });
    // Ironic's URL form.
    const page = await openViewer(
      `/vnc_auto.html?path=${encodeURIComponent(`websockify?node=${NODE}&token=${token}`)}`,
    );
    await untilState(page, 'connected');
    // Once connected the token leaves the address bar (history.replaceState); the node stays.
    expect(page.url()).toBe(`${proxy.url}/vnc_auto.html?node=${NODE}`);
    await expect.poll(() => canvasPixel(page, 600, 450), { timeout: 20_000 }).toEqual([0x33, 0x66, 0xcc]);
    await expect.poll(() => canvasPixel(page, 250, 130), { timeout: 20_000 }).toEqual([255, 255, 255]);

    const p = await viewerPoint(page, 250, 130);
    await page.mouse.click(p.x, p.y);
    await expect
      .poll(
        () =>
          kiosk.evaluate(() =>
            (window as unknown as { events: Array<{ target: string }> }).events.map((e) => e.target),
          ),
        { timeout: 20_000 },
      )
      .toContain('box');
    const down = await kiosk.evaluate(
      () => (window as unknown as { events: Array<{ x: number; y: number }> }).events[0],
    );
    expect(Math.abs((down?.x ?? 0) - 250)).toBeLessThanOrEqual(3);
    expect(Math.abs((down?.y ?? 0) - 130)).toBeLessThanOrEqual(3);

    await page.keyboard.type('Hello 42');
    await expect
      .poll(() => kiosk.evaluate(() => (document.getElementById('box') as HTMLInputElement).value), { timeout: 20_000 })
      .toBe('Hello 42');

    // "Type text" (paste as keystrokes).
    await page.click('#btn-type');
    await page.fill('#type-text', ' ok!');
    await page.click('#type-send');
    await expect
      .poll(() => kiosk.evaluate(() => (document.getElementById('box') as HTMLInputElement).value), { timeout: 20_000 })
      .toBe('Hello 42 ok!');

    await page.screenshot({ path: join(SHOTS, 'viewer-connected.png') });
    expect((page as Page & { cspErrors?: string[] }).cspErrors).toEqual([]);
    expect(await page.isDisabled('#btn-cad')).toBe(false);
    // A reload of the tab (token no longer in its address) connects again with the token kept for this tab.
    await page.reload();
    await untilState(page, 'connected');
    expect(page.url()).not.toContain(token);
    firstViewer = page;
  });

  it('shows view-only, refuses a bad token, and closes with a clear reason when the token is revoked or expires', async () => {
    const readOnly = agent.issue({ node: NODE, host: '127.0.0.1', port: vnc.port, readOnly: true });
    const expiring = agent.issue({ node: NODE, host: '127.0.0.1', port: vnc.port });
    const [ro, ex, bad] = await Promise.all([
      openViewer(`/?node=${NODE}&token=${readOnly}`),
      openViewer(`/?node=${NODE}&token=${expiring}`),
      openViewer(`/?node=${NODE}&token=this-token-does-not-exist`),
    ]);
    // A bad token is refused in the page, before any websocket session.
    await untilState(bad, 'failed');
    expect((await viewerState(bad)).reason).toBe('Access token not valid');
    await Promise.all([untilState(ro, 'connected'), untilState(ex, 'connected')]);
    expect(await ro.isVisible('#viewonly')).toBe(true);
    expect(await ro.isDisabled('#btn-cad')).toBe(true);
    const grant = agent.grants.get(readOnly);
    if (grant) grant.revoked = true;
    // The agent shortens the other token's lifetime; the proxy learns it on re-verification and closes at expiry.
    const shortened = agent.grants.get(expiring);
    if (shortened) shortened.expiresAt = new Date(Date.now() + 300);
    await untilState(ro, 'failed');
    expect((await viewerState(ro)).reason).toBe('Access was revoked');
    await ro.screenshot({ path: join(SHOTS, 'viewer-revoked.png') });
    await untilState(ex, 'failed');
    expect((await viewerState(ex)).reason).toBe('Access token expired');
    await Promise.all([ro.close(), ex.close(), bad.close()]);
  });

  it('reconnects after a proxy restart within the token lifetime', async () => {
    const page =
      firstViewer ??
      (await openViewer(`/?node=${NODE}&token=${agent.issue({ node: NODE, host: '127.0.0.1', port: vnc.port })}`));
    await untilState(page, 'connected');
    const port = proxy.port;
    await proxy.close();
    await untilState(page, 'reconnecting');
    proxy = await startProxy({ port, agentUrl: agent.url, limits: { reverifyIntervalSec: 0.5 } }, { logger: quiet });
    await untilState(page, 'connected');
    await expect.poll(() => canvasPixel(page, 700, 500), { timeout: 20_000 }).toEqual([0x33, 0x66, 0xcc]);
    await page.close();
  });
});
