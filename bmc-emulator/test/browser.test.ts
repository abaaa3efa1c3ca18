import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../src/emulator.js';
import { kvmMarkerColor } from '../src/marker.js';
import type { ProfileName } from '../src/profiles.js';

// Real Chromium logs in through each vendor's web UI by hand, like a user, and must see the KVM marker colour.
const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-quic',
];
const shotsDir = process.env.BMC_EMULATOR_SHOTS;

let browser: Browser;
const running: RunningEmulator[] = [];
beforeAll(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
});
afterAll(async () => {
  await browser?.close();
  await Promise.all(running.map((e) => e.close()));
});

function near(a: number, b: number): boolean {
  return Math.abs(a - b) <= 6;
}

async function shot(page: Page, name: string): Promise<PNG> {
  const buf = await page.screenshot();
  if (shotsDir) {
    mkdirSync(shotsDir, { recursive: true });
    writeFileSync(join(shotsDir, `${name}.png`), buf);
  }
  return PNG.sync.read(buf);
}

function countColour(png: PNG, c: { r: number; g: number; b: number }): number {
  let n = 0;
  for (let i = 0; i < png.data.length; i += 4) {
    if (near(png.data[i] ?? 0, c.r) && near(png.data[i + 1] ?? 0, c.g) && near(png.data[i + 2] ?? 0, c.b)) n++;
  }
  return n;
}

/** A login page never shows the marker colour. */
async function expectNoMarker(page: Page, profile: ProfileName, name: string): Promise<void> {
  expect(countColour(await shot(page, name), kvmMarkerColor(profile))).toBe(0);
}

/** Waits for the console, checks the marker pixel, types and clicks, and checks the emulator recorded both. */
async function expectConsole(page: Page, e: RunningEmulator, name: string): Promise<void> {
  await page.waitForFunction(() => document.body.dataset.kvm === 'ok');
  // The screen position of canvas pixel (32,32), the middle of the marker square.
  const pt = await page.evaluate(() => {
    const c = document.querySelector('canvas');
    if (!c) throw new Error('no canvas');
    const r = c.getBoundingClientRect();
    const s = Math.min(r.width / c.width, r.height / c.height);
    const ox = r.left + (r.width - c.width * s) / 2;
    const oy = r.top + (r.height - c.height * s) / 2;
    return {
      x: Math.round(ox + 32 * s),
      y: Math.round(oy + 32 * s),
      cx: Math.round(ox + 600 * s),
      cy: Math.round(oy + 600 * s),
    };
  });
  const png = await shot(page, name);
  const i = (pt.y * png.width + pt.x) * 4;
  const want = kvmMarkerColor(e.profile);
  expect([png.data[i], png.data[i + 1], png.data[i + 2]]).toEqual([want.r, want.g, want.b]);
  await page.keyboard.type('root');
  await page.keyboard.press('Enter');
  await page.mouse.click(pt.cx, pt.cy);
  await expect.poll(() => e.state().typed).toBe('root\n');
  await expect.poll(() => e.state().clicks.length).toBe(1);
  const click = e.state().clicks[0];
  expect(Math.abs((click?.x ?? 0) - 600)).toBeLessThanOrEqual(2);
  expect(Math.abs((click?.y ?? 0) - 600)).toBeLessThanOrEqual(2);
  expect(e.state().liveKvmSessions).toBe(1);
  if (shotsDir) await shot(page, `${name}-typed`);
}

async function session(
  profile: ProfileName,
  extra: Parameters<typeof startEmulator>[0] = {},
): Promise<{ e: RunningEmulator; ctx: BrowserContext; page: Page }> {
  const e = await startEmulator({ vendor: profile, node: `${profile}-node`, ...extra });
  running.push(e);
  const ctx = await browser.newContext({
    ignoreHTTPSErrors: true,
    viewport: { width: 1024, height: 768 },
    deviceScaleFactor: 1,
  });
  const page = await ctx.newPage();
  return { e, ctx, page };
}

if (!existsSync(CHROMIUM)) console.warn(`emulator browser tests skipped: ${CHROMIUM} is absent (Debian: chromium)`);

// Generous per-test limit: a login, a popup and two screenshots take seconds on a loaded 2-core machine.
describe.skipIf(!existsSync(CHROMIUM))('Chromium through each vendor web UI', { timeout: 120_000 }, () => {
  it('Dell iDRAC9: /restgui/start.html?console form -> console window', async () => {
    const { e, ctx, page } = await session('idrac9');
    await page.goto(`${e.url}/restgui/start.html?console`);
    await expectNoMarker(page, 'idrac9', 'idrac9-login');
    await page.fill('input[name="username"]', e.username);
    await page.fill('input[name="password"]', e.password);
    const popup = ctx.waitForEvent('page');
    await page.click('button.cux-button');
    const kvm = await popup;
    await expectConsole(kvm, e, 'idrac9-kvm');
    expect(await kvm.title()).toContain('FPS:');
    await ctx.close();
  });

  it('Dell iDRAC8: /login.html?console, Submit link -> popup with #kvmCanvas', async () => {
    const { e, ctx, page } = await session('idrac8');
    await page.goto(`${e.url}/login.html?console`);
    await expectNoMarker(page, 'idrac8', 'idrac8-login');
    await page.fill('#user', e.username);
    await page.fill('#password', e.password);
    const popup = ctx.waitForEvent('page');
    await page.getByRole('link', { name: 'Submit' }).click();
    const kvm = await popup;
    await kvm.waitForSelector('#kvmCanvas');
    await expectConsole(kvm, e, 'idrac8-kvm');
    await ctx.close();
  });

  it('HPE iLO 5: appFrame login, Remote Console tab, #HRCEXTButton -> irc.html', async () => {
    const { e, ctx, page } = await session('ilo5');
    await page.goto(`${e.url}/`);
    const app = page.frameLocator('#appFrame');
    await app.locator('#username').waitFor();
    await expectNoMarker(page, 'ilo5', 'ilo5-login');
    await app.locator('#username').fill(e.username);
    await app.locator('#password').fill(e.password);
    await app.locator('#login-form__submit').click();
    await app.locator('#tabset_rc').click();
    const popup = ctx.waitForEvent('page');
    await app.frameLocator('#iframeContent').locator('#HRCEXTButton').click();
    await expectConsole(await popup, e, 'ilo5-kvm');
    await ctx.close();
  });

  it('HPE iLO 6: inline login on /irc.html (username starts disabled)', async () => {
    const { e, ctx, page } = await session('ilo6');
    // The inline form is served with the username field disabled; page JS enables it.
    expect(await (await ctx.request.get(`${e.url}/irc.html`)).text()).toMatch(/id="username"[^>]* disabled/);
    await page.goto(`${e.url}/irc.html`);
    await expectNoMarker(page, 'ilo6', 'ilo6-login');
    await page.waitForSelector('#username:not([disabled])');
    await page.fill('#username', e.username);
    await page.fill('#password', e.password);
    await page.click('#login-form__submit');
    await expectConsole(page, e, 'ilo6-kvm');
    await ctx.close();
  });

  it('Lenovo XCC: #/login form -> Launch Remote Console -> viewer socket on the second TLS port', async () => {
    const { e, ctx, page } = await session('xcc');
    await page.goto(`${e.url}/#/login`);
    await page.waitForSelector('#user');
    await expectNoMarker(page, 'xcc', 'xcc-login');
    await page.fill('#user', e.username);
    await page.fill('#password', e.password);
    await page.click('#login-button');
    await page.click('#launch-remote-console');
    await expectConsole(page, e, 'xcc-kvm');
    await ctx.close();
  });

  it('Supermicro X11: form login -> main menu snapshot -> iKVM/HTML5 window', async () => {
    const { e, ctx, page } = await session('supermicro-x11');
    await page.goto(`${e.url}/`);
    await expectNoMarker(page, 'supermicro-x11', 'smc-x11-login');
    await page.fill('input[name="name"]', e.username);
    await page.fill('#pwd', e.password);
    await page.click('#login_word');
    await page.waitForURL(/url_name=mainmenu/);
    const img = page.frameLocator('#TOPMENU').frameLocator('#frame_main').locator('img#img1');
    expect(await img.getAttribute('src')).toContain('Snapshot');
    const popup = ctx.waitForEvent('page');
    await img.click();
    const kvm = await popup;
    await kvm.click('#VideoRecordingModal button');
    await expectConsole(kvm, e, 'smc-x11-kvm');
    expect(await kvm.inputValue('#entry_value')).toMatch(/^[0-9a-f]{24}$/);
    await ctx.close();
  });

  it('OpenBMC: #/login form -> #/operations/kvm with the XSRF subprotocol', async () => {
    const { e, ctx, page } = await session('openbmc');
    await page.goto(`${e.url}/#/login`);
    await page.waitForSelector('#username');
    await expectNoMarker(page, 'openbmc', 'openbmc-login');
    await page.fill('#username', e.username);
    await page.fill('#password', e.password);
    await page.click('[data-test-id="login-button-submit"]');
    await expect
      .poll(async () => (await ctx.cookies()).map((c) => c.name).sort())
      .toEqual(['BMCWEB-SESSION', 'XSRF-TOKEN']);
    await page.click('#nav-kvm');
    await expectConsole(page, e, 'openbmc-kvm');
    await ctx.close();
  });

  it('AMI MegaRAC SP-X: #userid form -> Remote Control -> viewer.html popup', async () => {
    const { e, ctx, page } = await session('ami');
    await page.goto(`${e.url}/`);
    await page.waitForSelector('#userid');
    await expectNoMarker(page, 'ami', 'ami-login');
    await page.fill('#userid', e.username);
    await page.fill('#password', e.password);
    await page.click('#btn-login');
    await page.click('#nav-remote-control');
    const popup = ctx.waitForEvent('page');
    await page.click('#launch-h5viewer');
    await expectConsole(await popup, e, 'ami-kvm');
    await ctx.close();
  });

  it('unknown BMC: generic form -> /kvm', async () => {
    const { e, ctx, page } = await session('unknown');
    await page.goto(`${e.url}/`);
    await expectNoMarker(page, 'unknown', 'unknown-login');
    await page.fill('#username', e.username);
    await page.fill('#password', e.password);
    await page.click('#login');
    await expectConsole(page, e, 'unknown-kvm');
    await ctx.close();
  });

  it('a busy console never shows the marker (iLO 7, --kvm-busy, Redfish token as sessionKey cookie)', async () => {
    const { e, ctx, page } = await session('ilo7', { faults: { kvmBusy: true } });
    const r = await ctx.request.post(`${e.url}/redfish/v1/SessionService/Sessions`, {
      data: { UserName: e.username, Password: e.password },
    });
    const token = r.headers()['x-auth-token'] ?? '';
    await ctx.addCookies([{ name: 'sessionKey', value: token, url: e.url }]);
    await page.goto(`${e.url}/irc.html`);
    await page.waitForFunction(() => document.body.dataset.kvm === 'busy');
    await expectNoMarker(page, 'ilo7', 'ilo7-busy');
    await ctx.close();
  });
});
