/**
 * Every vendor script against its bmc-emulator profiles in headless Chromium (real browser, real emulator):
 * discovery picks the script, open() ends with the emulator's KVM canvas full screen (marker colour on the
 * screenshot, live console in the emulator state), isAlive() is true, close() ends the console and logs out
 * of every session it made. vendor-scripts-fallback.test.ts does the same with the primary path switched off.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from '../src/cdp/browser.js';
import { launchTryBrowser } from '../src/commands/try-console.js';
import { emulator, opensFullScreen, prepare, profiles } from './vendor-scripts-harness.js';

let browser: Browser;
beforeAll(async () => {
  browser = await launchTryBrowser();
});
afterAll(async () => {
  await browser?.close();
});

describe('vendor scripts open the KVM full screen on every emulator profile', () => {
  for (const profile of profiles) it(profile, () => opensFullScreen(browser, profile, false));
});

describe("Ironic's system_id", () => {
  it('picks the named host of a multi-host BMC and the script opens its KVM (openbmc: system2)', async () => {
    const emu = await emulator('openbmc');
    try {
      const c = await prepare(browser, emu, undefined, '/redfish/v1/Systems/system2');
      expect(c.discovery.systemPath).toBe('/redfish/v1/Systems/system2');
      expect(c.ctx.discovery.systemPath).toBe('/redfish/v1/Systems/system2');
      await c.script.open(c.ctx);
      expect(emu.state().launches).toEqual(['console-route']);
      await c.close();
      expect(emu.state().liveKvmSessions).toBe(0);
    } finally {
      await emu.close();
    }
  });
});

describe('generic script', () => {
  it('shows the BMC login page with a notice for an unknown BMC', async () => {
    const emu = await emulator('unknown');
    try {
      const c = await prepare(browser, emu);
      expect(c.script.family).toBe('generic');
      await c.script.open(c.ctx);
      expect(await c.page.locator('#bmc-console-notice').isVisible()).toBe(true);
      expect(await c.page.locator('#bmc-console-notice').textContent()).toContain('Automatic login is not supported');
      expect(await c.page.locator('input[type="password"]').isVisible()).toBe(true);
      expect(await c.script.isAlive(c.ctx)).toBe(true);
      await c.close();
    } finally {
      await emu.close();
    }
  });
});
