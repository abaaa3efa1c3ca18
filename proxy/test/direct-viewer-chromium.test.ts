// The viewer page in a real headless Chromium, through the proxy, on a direct OpenBMC console (BMC emulator): the
// host screen shows and typed keys reach the host; a wrong BMC password shows the BMC step's reason under the
// headline, and the session cap shows as "no free console session" with its reason while the viewer retries.
import { startEmulator, type RunningEmulator } from '@bmc-console/bmc-emulator/emulator';
import { kvmMarkerColor } from '@bmc-console/bmc-emulator/marker';
import type { DirectTarget } from '@bmc-console/common/contracts/direct-target';
import { type Browser, chromium, type Page } from 'playwright-core';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startProxy, type RunningProxy } from '../src/server.js';
import { startFakeAgent, type FakeAgent } from './fake-agent.js';

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'];
const NODE = 'direct-viewer-node';
const PASSWORD = 'Viewer-direct-pw1';

let browser: Browser;
let emu: RunningEmulator;
let agent: FakeAgent;
let proxy: RunningProxy;

beforeAll(async () => {
  [browser, emu, agent] = await Promise.all([
    chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS }),
    startEmulator({ vendor: 'openbmc', node: NODE, password: PASSWORD }),
    startFakeAgent(),
  ]);
  proxy = await startProxy(
    { port: 0, agentUrl: agent.url, direct: { timeoutMs: 5000, releaseAfterSec: 0 } },
    { logger: pino({ level: 'silent' }) },
  );
});

afterAll(async () => {
  await browser?.close();
  await proxy?.close();
  await agent?.close();
  await emu?.close();
});

const direct = (over: Partial<DirectTarget> = {}): DirectTarget => ({
  vendor: 'openbmc',
  address: emu.url,
  username: emu.username,
  password: PASSWORD,
  verifyCa: false,
  ...over,
});

async function open(token: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  await page.goto(`${proxy.url}/?node=${NODE}&token=${token}`);
  return page;
}

const overlay = (page: Page) =>
  page.evaluate(() => ({
    state: (window as unknown as { bmcViewer: { state: string } }).bmcViewer.state,
    title: document.getElementById('overlay-title')?.textContent ?? '',
    detail: document.getElementById('overlay-detail')?.textContent ?? '',
  }));

it('shows the BMC host screen and carries typed keys to the host', async () => {
  const page = await open(agent.issue({ node: NODE, direct: direct() }));
  const m = kvmMarkerColor('openbmc');
  await expect
    .poll(
      () =>
        page.evaluate(() => {
          const c = document.querySelector('#screen canvas') as HTMLCanvasElement | null;
          if (!c) return [-1, -1, -1];
          return [...(c.getContext('2d') as CanvasRenderingContext2D).getImageData(10, 10, 1, 1).data].slice(0, 3);
        }),
      { timeout: 20_000 },
    )
    .toEqual([m.r, m.g, m.b]);
  await page.locator('#screen canvas').click({ position: { x: 500, y: 400 } });
  await page.keyboard.type('viewer ok');
  await expect.poll(() => emu.state().typed, { timeout: 10_000 }).toBe('viewer ok');
  await page.close();
  await expect.poll(() => emu.state().redfishSessions, { timeout: 10_000 }).toBe(0);
});

it('shows why the BMC refused: the login step under the headline for a wrong password', async () => {
  const page = await open(agent.issue({ node: NODE, direct: direct({ password: 'Not-the-pw-9' }) }));
  await expect.poll(async () => (await overlay(page)).state, { timeout: 20_000 }).toBe('disconnected');
  const o = await overlay(page);
  expect(o.title).toBe('The BMC refused the login');
  expect(o.detail).toMatch(/^login: the BMC rejected the user name or password/);
  expect(o.detail).not.toContain('Not-the-pw-9');
  await page.close();
});

it('shows the busy BMC with its reason while it retries', async () => {
  emu.control({ kvmBusy: true });
  try {
    const page = await open(agent.issue({ node: NODE, direct: direct() }));
    await expect.poll(async () => (await overlay(page)).state, { timeout: 20_000 }).toBe('reconnecting');
    const o = await overlay(page);
    expect(o.title).toMatch(/^The BMC has no free console session; retrying in \d+ s$/);
    expect(o.detail).toMatch(/^kvm: the BMC refused the console/);
    await page.close();
  } finally {
    emu.control({ kvmBusy: false });
  }
});
