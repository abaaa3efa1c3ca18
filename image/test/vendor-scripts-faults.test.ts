/**
 * Fault modes of the bmc-emulator against the vendor scripts: each ends in a ConsoleFailure of the right kind
 * with a readable cause (never the password), and a lost session makes isAlive() false and a fresh open() works.
 * Faults are switched on after discovery, so the script itself (not discovery) meets them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from '../src/cdp/browser.js';
import type { ProfileName } from '@bmc-console/bmc-emulator/profiles';
import { launchTryBrowser } from '../src/commands/try-console.js';
import { emulator, eventually, markerPixels, openFailure, prepare } from './vendor-scripts-harness.js';

let browser: Browser;
beforeAll(async () => {
  browser = await launchTryBrowser();
});
afterAll(async () => {
  await browser?.close();
});

/** Opens with `fault` switched on after discovery; returns the failure (the test fails if open() succeeds). */
async function failureWith(
  profile: ProfileName,
  fault: Record<string, unknown>,
  before?: (c: Awaited<ReturnType<typeof prepare>>) => Promise<void>,
) {
  const emu = await emulator(profile);
  try {
    const c = await prepare(browser, emu);
    // Discovery's Redfish session would still be valid: end it, so the script logs in under the fault.
    await c.ctx.redfish.logout();
    await before?.(c);
    emu.control(fault);
    const f = await openFailure(c);
    await c.close();
    expect(f, 'open() should have failed').toBeDefined();
    expect(f?.cause).not.toContain(emu.password);
    expect(f?.hint.length).toBeGreaterThan(10);
    return f!;
  } finally {
    await emu.close();
  }
}

describe('wrong password -> auth', () => {
  for (const profile of ['idrac9', 'idrac7', 'ilo4', 'xcc', 'xcc3', 'supermicro-x11', 'supermicro-x12', 'ami'] as const)
    it(profile, async () => {
      const f = await failureWith(profile, { wrongPassword: true });
      expect(f.kind).toBe('auth');
      expect(f.cause).toMatch(/rejected|refused|user name or password/i);
    });
});

describe('console held by someone else -> kvm-busy', () => {
  for (const profile of ['idrac8', 'ilo5', 'openbmc', 'supermicro-x12', 'supermicro-h13'] as const)
    it(profile, async () => {
      const f = await failureWith(profile, { kvmBusy: true });
      expect(f.kind).toBe('kvm-busy');
      expect(f.cause).toMatch(/held by another session/);
    });
});

describe('BMC down -> unreachable', () => {
  for (const profile of ['idrac9', 'ami'] as const)
    it(profile, async () => {
      const f = await failureWith(profile, { down: true });
      expect(f.kind).toBe('unreachable');
      expect(f.cause).toMatch(/cannot be reached|request failed|did not answer/i);
    });
});

describe('HTTP 500 on the launch path -> bmc-error', () => {
  const cases: [ProfileName, string][] = [
    [
      'idrac9',
      '/redfish/v1/Managers/iDRAC.Embedded.1/Oem/Dell/DelliDRACCardService/Actions/DelliDRACCardService.GetKVMSession',
    ],
    ['openbmc', '/redfish/v1/SessionService/Sessions'],
  ];
  for (const [profile, path] of cases)
    it(profile, async () => {
      const f = await failureWith(profile, { failPaths: [path] });
      expect(f.kind).toBe('bmc-error');
      expect(f.cause).toContain('HTTP 500');
    });
});

describe('session expiry -> isAlive false -> open again works', () => {
  for (const profile of ['ilo5', 'openbmc'] as const)
    it(profile, async () => {
      const emu = await emulator(profile);
      try {
        const c = await prepare(browser, emu);
        await c.script.open(c.ctx);
        expect(await c.script.isAlive(c.ctx)).toBe(true);
        emu.control({ sessionTimeoutS: 1 });
        // Sessions expire on the BMC; the viewer notices when it next talks to the BMC (a reload here).
        await eventually(() => emu.state().redfishSessions + emu.state().webSessions === 0);
        await c.page.reload();
        await eventually(async () => !(await c.script.isAlive(c.ctx)));
        await c.script.close(c.ctx);
        emu.control({ sessionTimeoutS: null });
        await c.script.open(c.ctx);
        expect(await c.script.isAlive(c.ctx)).toBe(true);
        expect(await markerPixels(c, profile)).toBeGreaterThan(1500);
        await c.close();
      } finally {
        await emu.close();
      }
    });
});
