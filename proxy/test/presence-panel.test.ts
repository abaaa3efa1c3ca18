// The viewer's side channel in a real Chromium against a fake proxy websocket: the presence panel lists the
// viewers, its buttons send hand-over and take-control requests, refusals and the recording notice show, and a
// proxy that does not select the side channel gets the viewer of old (plus the 4505 close text).
import type { PresenceMessage, ViewerRequest } from '@bmc-console/common/contracts/viewer-channel';
import { VIEWER_CHANNEL_PROTOCOL } from '@bmc-console/common/contracts/viewer-channel';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { json, type PageServer, type Route, rawRect, serverHandshake, startPageServer } from './page-server.js';

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'];
const SHOTS = process.env.BMC_TEST_SCREENSHOTS ?? join(import.meta.dirname, '../../.work/screenshots/proxy');
const W = 64;
const H = 48;

let browser: Browser;
let ctx: BrowserContext;
let withChannel: PageServer;
let plain: PageServer;
/** Side-channel requests each socket received, by socket. */
const requests = new Map<WebSocket, unknown[]>();

const tokenStatus: Route = (_req, res, url) =>
  url.pathname === '/api/token-status' && json(res, 200, { valid: true, readOnly: false });

function onSocket(ws: WebSocket): void {
  requests.set(ws, []);
  const [version, rest] = serverHandshake(W, H);
  let step = 0;
  ws.on('message', (data, isBinary) => {
    if (!isBinary) return requests.get(ws)!.push(JSON.parse(String(data)));
    // RFB from noVNC, which reads each step only after its own answer: the rest of the handshake after its
    // version, one frame on its first FramebufferUpdateRequest.
    if (step === 0) ws.send(rest);
    else if ((data as Buffer)[0] === 3 && step < 99) {
      ws.send(rawRect(0, 0, W, H, [0x20, 0x80, 0x40]));
      step = 99;
    }
    step++;
  });
  ws.send(version);
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  [browser, withChannel, plain] = await Promise.all([
    chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS }),
    startPageServer({
      route: tokenStatus,
      selectProtocol: (offered) => (offered.has(VIEWER_CHANNEL_PROTOCOL) ? VIEWER_CHANNEL_PROTOCOL : false),
      onSocket,
    }),
    // Like websockify or a proxy without the side channel: selects plain `binary`. (Selecting none at all would
    // fail in Chromium, which refuses an answer without a protocol when it offered some.)
    startPageServer({ route: tokenStatus, onSocket, selectProtocol: (o) => (o.has('binary') ? 'binary' : false) }),
  ]);
  ctx = await browser.newContext({ viewport: { width: 1000, height: 700 } });
});

afterAll(async () => {
  await browser?.close();
  await Promise.all([withChannel?.close(), plain?.close()]);
});

interface ViewerState {
  state: string;
  reason: string;
  sideChannel: boolean;
  presence: PresenceMessage | null;
  lastRefused: { request: string; reason: string } | null;
}
const viewerState = (page: Page) =>
  page.evaluate(() => (window as unknown as { bmcViewer: ViewerState }).bmcViewer) as Promise<ViewerState>;

async function openViewer(server: PageServer): Promise<{ page: Page; ws: WebSocket; errors: string[] }> {
  const before = server.sockets.length;
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) errors.push(m.text());
  });
  await page.goto(`${server.url}/#node=node-1&token=token-for-alice`);
  await expect.poll(async () => (await viewerState(page)).state, { timeout: 20_000 }).toBe('connected');
  expect(server.sockets.length).toBe(before + 1);
  return { page, ws: server.sockets.at(-1)!, errors };
}

const at = '2026-12-06T16:00:00.000Z';
function presence(over: Partial<PresenceMessage>): PresenceMessage {
  return {
    type: 'presence',
    you: 's-alice',
    exclusive: true,
    holder: 's-alice',
    lastInput: { session: 's-bob', user: 'bob', at },
    recording: false,
    viewers: [
      { session: 's-alice', user: 'alice', role: 'control', since: at, canType: true },
      { session: 's-bob', user: 'bob', role: 'control', since: at, canType: false },
      { session: 's-carol', user: null, role: 'view', since: at, canType: false },
    ],
    ...over,
  };
}

describe('presence panel (Chromium, fake proxy socket)', () => {
  it('lists the viewers; the holder hands control over, a control viewer without it takes it', async () => {
    const { page, ws, errors } = await openViewer(withChannel);
    expect((await viewerState(page)).sideChannel).toBe(true);
    expect(await page.isHidden('#presence')).toBe(true);

    ws.send(JSON.stringify(presence({ recording: true })));
    await expect.poll(async () => (await viewerState(page)).presence?.viewers.length).toBe(3);
    // Collapsed by default: one strip with the count and who has control.
    expect(await page.textContent('#presence-summary')).toBe('3 viewers · you have control');
    expect(await page.isHidden('#presence-body')).toBe(true);
    expect(await page.isVisible('#recorded')).toBe(true);
    await page.click('#presence-toggle');
    expect(await page.isVisible('#presence-rec')).toBe(true);
    expect(await page.textContent('#presence-rec')).toContain('This session is recorded');
    const rows = await page.$$eval('#presence-list li', (lis) => lis.map((li) => li.textContent));
    expect(rows).toEqual([
      expect.stringMatching(/^aliceyoucontrolhas control/),
      expect.stringMatching(/^bobcontrol/),
      expect.stringMatching(/^anonymousview/),
    ]);
    expect(await page.textContent('#presence-typing')).toBe('Sole control: alice (you)');
    expect(await page.textContent('#presence-last')).toMatch(/^Last input: bob at \d\d:\d\d:\d\d$/);
    // Only bob (control, not me) gets a hand-over button; carol is view-only.
    await page.screenshot({ path: join(SHOTS, 'presence-panel.png') });
    expect(await page.$$eval('button.hand-over', (bs) => bs.map((b) => (b as HTMLElement).dataset.to))).toEqual([
      's-bob',
    ]);
    expect(await page.isHidden('#presence-take')).toBe(true);
    await page.click('button.hand-over');
    await expect.poll(() => requests.get(ws)).toEqual([{ type: 'hand-over', to: 's-bob' } satisfies ViewerRequest]);

    // Bob holds control now: alice cannot type and gets "Take control".
    ws.send(
      JSON.stringify(
        presence({
          holder: 's-bob',
          viewers: [
            { session: 's-alice', user: 'alice', role: 'control', since: at, canType: false },
            { session: 's-bob', user: 'bob', role: 'control', since: at, canType: true },
          ],
        }),
      ),
    );
    await expect.poll(() => page.textContent('#presence-summary')).toBe('2 viewers · bob has control');
    expect(await page.isDisabled('#btn-cad')).toBe(true);
    expect(await page.isDisabled('#btn-type')).toBe(true);
    expect(await page.isVisible('#recorded')).toBe(false);
    expect(await page.$$('button.hand-over')).toHaveLength(0);
    await page.click('#presence-take');
    await expect.poll(() => requests.get(ws)?.at(-1)).toEqual({ type: 'take-control' });

    ws.send(JSON.stringify({ type: 'refused', request: 'take-control', reason: 'bob is typing' }));
    await expect.poll(async () => (await viewerState(page)).lastRefused?.reason).toBe('bob is typing');
    expect(await page.textContent('#presence-refused')).toBe('Take control refused: bob is typing');
    expect(await page.isVisible('#presence-refused')).toBe(true);
    // Garbage on the side channel changes nothing and never reaches noVNC.
    ws.send('not json');
    ws.send(JSON.stringify({ type: 'presence', you: 1 }));
    await new Promise((r) => setTimeout(r, 200));
    expect((await viewerState(page)).state).toBe('connected');
    expect((await viewerState(page)).presence?.holder).toBe('s-bob');

    // The help says what the roles, exclusive control and recording mean.
    await page.click('#btn-help');
    const help = await page.textContent('#help-panel');
    expect(help).toMatch(/view/i);
    expect(help).toMatch(/Exclusive control/);
    expect(help).toMatch(/Recording/);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('marks a view-only viewer clearly', async () => {
    const { page, ws } = await openViewer(withChannel);
    ws.send(
      JSON.stringify(
        presence({
          you: 's-carol',
          exclusive: false,
          holder: null,
          lastInput: null,
          viewers: [
            { session: 's-alice', user: 'alice', role: 'control', since: at, canType: true },
            { session: 's-carol', user: 'carol', role: 'view', since: at, canType: false },
          ],
        }),
      ),
    );
    await expect.poll(() => page.textContent('#presence-summary')).toBe('2 viewers · view only');
    expect(await page.isVisible('#viewonly')).toBe(true);
    expect(await page.getAttribute('#viewonly', 'title')).toContain('This link is view-only');
    expect(await page.isDisabled('#btn-cad')).toBe(true);
    await page.click('#presence-toggle');
    expect(await page.isHidden('#presence-take')).toBe(true);
    expect(await page.textContent('#presence-last')).toBe('Last input: none yet');
    await page.close();
  });

  it('without the side channel works as before, and shows 4505 as final', async () => {
    const { page, ws } = await openViewer(plain);
    const st = await viewerState(page);
    expect(st.sideChannel).toBe(false);
    expect(st.presence).toBeNull();
    expect(await page.isHidden('#presence')).toBe(true);
    expect(await page.isDisabled('#btn-cad')).toBe(false);
    // The console's pixels arrived through the channel wrapper.
    const pixel = () =>
      page.evaluate(() => {
        const c = document.querySelector('#screen canvas') as HTMLCanvasElement;
        return [...(c.getContext('2d') as CanvasRenderingContext2D).getImageData(10, 10, 1, 1).data].slice(0, 3);
      });
    await expect.poll(pixel).toEqual([0x20, 0x80, 0x40]);
    const sockets = plain.sockets.length;
    ws.close(4505, 'recording required but not available');
    await expect.poll(async () => (await viewerState(page)).state, { timeout: 10_000 }).toBe('disconnected');
    expect((await viewerState(page)).reason).toBe('Recording required but not available');
    await new Promise((r) => setTimeout(r, 1500));
    expect(plain.sockets.length).toBe(sockets);
    await page.close();
  });
});
