/**
 * Shared by the vendor-script tests: one emulator per case, consoles opened with the `try` machinery in a
 * browser shared by the whole test file, and the checks on what the screen shows.
 */
import { PNG } from 'pngjs';
import type { Browser } from '../src/cdp/browser.js';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '@bmc-console/bmc-emulator/emulator';
import { kvmMarkerColor } from '@bmc-console/bmc-emulator/marker';
import { getProfile, type ProfileName } from '@bmc-console/bmc-emulator/profiles';
import { expect } from 'vitest';
import { ConsoleFailure } from '../src/vendor-script.js';
import { prepareConsole, type TryConsole } from '../src/commands/try-console.js';
import { guardContext, NavigationAllowList } from '../src/supervisor/navigation-guard.js';

const VIEWPORT = { width: 1000, height: 700 };

export async function emulator(vendor: ProfileName, o: Omit<EmulatorOptions, 'vendor'> = {}): Promise<RunningEmulator> {
  return startEmulator({ vendor, node: `node-${vendor}`, ...o });
}

/** Discovery and the picked script's ConsoleContext for this emulator (not opened yet). */
export async function prepare(
  browser: Browser,
  emu: RunningEmulator,
  outDir?: string,
  systemId?: string,
): Promise<TryConsole> {
  const c = await prepareConsole({
    browser,
    ...(systemId ? { systemId } : {}),
    bmc: {
      origin: emu.url,
      rootPrefix: '/redfish/v1',
      username: emu.username,
      password: emu.password,
      verifyCa: false,
    },
    viewport: VIEWPORT,
    node: 'test-node',
    ...(outDir ? { outDir } : {}),
  });
  // The scripts run under the console's navigation guard, as in the supervisor: the BMC's own origin only.
  await guardContext(c.ctx.context, c.ctx.page, new NavigationAllowList([emu.url]), c.ctx.log);
  return c;
}

/** open() that returns the ConsoleFailure instead of throwing it (anything else is rethrown). */
export async function openFailure(c: TryConsole): Promise<ConsoleFailure | undefined> {
  try {
    await c.script.open(c.ctx);
    return undefined;
  } catch (e) {
    if (e instanceof ConsoleFailure) return e;
    throw e;
  }
}

/** How many screenshot pixels have the profile's KVM marker colour (the emulator draws it only with live video). */
export async function markerPixels(c: TryConsole, profile: ProfileName): Promise<number> {
  const png = PNG.sync.read(await c.page.screenshot());
  const { r, g, b } = kvmMarkerColor(profile);
  let n = 0;
  for (let i = 0; i < png.data.length; i += 4) {
    if (
      Math.abs(png.data[i]! - r) <= 12 &&
      Math.abs(png.data[i + 1]! - g) <= 12 &&
      Math.abs(png.data[i + 2]! - b) <= 12
    )
      n++;
  }
  return n;
}

/** Share of the viewport the biggest visible canvas covers (1 = the KVM fills the screen). */
async function canvasCoverage(c: TryConsole): Promise<number> {
  return c.page.evaluate(() => {
    let best = 0;
    for (const cv of document.querySelectorAll('canvas')) {
      const r = cv.getBoundingClientRect();
      const w = Math.max(0, Math.min(r.right, innerWidth) - Math.max(r.left, 0));
      const h = Math.max(0, Math.min(r.bottom, innerHeight) - Math.max(r.top, 0));
      best = Math.max(best, (w * h) / (innerWidth * innerHeight));
    }
    return best;
  });
}

/** Polls `check` until it is true (or the test's own timeout ends the test). */
export async function eventually(check: () => Promise<boolean> | boolean, intervalMs = 200): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, intervalMs));
}

/** Emulator profile -> the script family discovery must pick. */
export const families: Record<Exclude<ProfileName, 'unknown'>, string> = {
  idrac7: 'idrac',
  idrac8: 'idrac',
  idrac9: 'idrac',
  idrac10: 'idrac',
  ilo4: 'ilo',
  ilo5: 'ilo',
  ilo6: 'ilo',
  ilo7: 'ilo',
  xcc: 'xcc',
  xcc2: 'xcc',
  xcc3: 'xcc',
  'supermicro-x11': 'smc-bmc',
  'supermicro-x12': 'smc-bmc',
  'supermicro-x13': 'smc-bmc',
  'supermicro-h13': 'smc-bmc',
  openbmc: 'openbmc',
  ami: 'ami-megarac',
};
export const profiles = Object.keys(families) as (keyof typeof families)[];

/** The launch path the profile pins for this run: its primary, or with noPrimary its fallback. */
function expectedLaunch(profile: ProfileName, noPrimary: boolean): string {
  const launch = getProfile(profile).launch;
  if (!launch) throw new Error(`${profile} has no console launch path`);
  return noPrimary ? launch.fallback : launch.primary;
}

/**
 * open() ends with the marker-coloured KVM canvas filling the screen and one live console, opened by the launch
 * path the profile pins (so a broken primary hidden by a working fallback fails); isAlive(); close() ends the
 * console and every Redfish and web session.
 */
export async function opensFullScreen(
  browser: Browser,
  profile: keyof typeof families,
  noPrimary: boolean,
): Promise<void> {
  const emu = await emulator(profile, { noPrimary });
  try {
    const c = await prepare(browser, emu);
    expect(c.script.family).toBe(families[profile]);
    await c.script.open(c.ctx);
    expect(c.steps.length).toBeGreaterThan(0);
    // The marker square (64x64 on a 1024x768 host screen, scaled to the viewport) is on screen.
    expect(await markerPixels(c, profile)).toBeGreaterThan(1500);
    expect(await canvasCoverage(c)).toBeGreaterThan(0.95);
    // Vendor chrome over the KVM is hidden (Supermicro's video-recording warning is the emulated case).
    expect(await c.page.locator('#VideoRecordingModal').isVisible()).toBe(false);
    expect(emu.state().liveKvmSessions).toBe(1);
    const launches = emu.state().launches;
    console.log(`${profile}${noPrimary ? ' (no primary)' : ''}: the KVM opened by launch path ${launches.join(', ')}`);
    expect(launches).toEqual([expectedLaunch(profile, noPrimary)]);
    expect(await c.script.isAlive(c.ctx)).toBe(true);
    await c.close();
    const s = emu.state();
    expect(s.liveKvmSessions).toBe(0);
    expect({ redfish: s.redfishSessions, web: s.webSessions }).toEqual({ redfish: 0, web: 0 });
  } finally {
    await emu.close();
  }
}
