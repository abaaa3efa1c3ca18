/**
 * Each vendor script's fallback path: the emulator profile's primary launch path is switched off (--no-primary:
 * no Redfish console action, no iLO sessionKey-from-Redfish, no iDRAC7/8 deep link, no OpenBMC pop-out route,
 * no Supermicro host preview, another AMI login form...) and the script must still end with the KVM full screen,
 * opened by the profile's pinned fallback launch path (profile.launch.fallback), and log out cleanly.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Browser } from '../src/cdp/browser.js';
import { launchTryBrowser } from '../src/commands/try-console.js';
import { opensFullScreen, profiles } from './vendor-scripts-harness.js';

let browser: Browser;
beforeAll(async () => {
  browser = await launchTryBrowser();
});
afterAll(async () => {
  await browser?.close();
});

describe('fallback path when the primary launch path is switched off', () => {
  for (const profile of profiles) it(profile, () => opensFullScreen(browser, profile, true));
});
