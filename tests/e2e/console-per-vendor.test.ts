/**
 * The main job end to end, for every emulator profile: agent start (real podman container) -> console URL ->
 * headless Chromium opens the viewer through the proxy -> the emulator's KVM canvas is on screen (marker colour and
 * OCR'd node text), opened by the profile's primary launch path (so a broken primary hidden by a working fallback
 * fails) -> a click and typed text reach the emulated host -> stop -> the viewer shows why it disconnected and the
 * container is gone.
 */
import { execFileSync } from 'node:child_process';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kvmMarkerColor } from '@bmc-console/bmc-emulator/marker';
import { PROFILE_NAMES, getProfile, type ProfileName } from '@bmc-console/bmc-emulator/profiles';
import { launchBrowser, openViewer, viewerState } from '../src/browser.js';
import { consoleImageMissing } from '../src/preconditions.js';
import { containsApprox, decodePng, findColourBlock, ocr } from '../src/screen.js';
import { startStack, type Stack } from '../src/stack.js';
import { until } from '../src/until.js';
import { tempDir } from '@bmc-console/common/testing/temp-dir';

const skip = consoleImageMissing();
if (skip) console.warn(`skipping end-to-end tests: ${skip}`);

function containerExists(name: string): boolean {
  try {
    execFileSync('podman', ['container', 'exists', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Waits for the KVM's marker square in the viewer and returns the screenshot's OCR'd text. */
async function kvmOnScreen(page: Page, profile: ProfileName): Promise<{ text: string; at: { x: number; y: number } }> {
  const colour = kvmMarkerColor(profile);
  const at = await until(`the ${profile} KVM canvas in the viewer`, async () =>
    findColourBlock(decodePng(await page.screenshot()), colour, 12),
  );
  // The clock redraws every second; OCR what is there now.
  return { text: await ocr(await page.screenshot()), at };
}

describe.skipIf(skip)('console end to end through agent, container, proxy and viewer', () => {
  let stack: Stack;
  let browser: Browser;
  beforeAll(async () => {
    stack = await startStack();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  const kvmProfiles = PROFILE_NAMES.filter((p) => p !== 'unknown');

  it.each(kvmProfiles)(
    '%s: KVM visible, click and typing reach the host, stop disconnects and removes the container',
    async (profile) => {
      const node = `e2e-${profile}`;
      // XCC's viewer socket is on a second TLS port with a certificate of its own, which verify_ca=false (trust the
      // BMC's certificate only) does not cover: give XCC a CA bundle instead, as an operator would.
      const xcc = profile.startsWith('xcc');
      const emu = await stack.emulator(profile, { node, ...(xcc ? { caDir: tempDir('e2e-ca-') } : {}) });
      const started = await stack.startConsole(node, emu, xcc ? { appInfo: { verify_ca: emu.caFile } } : {});
      expect(started.url).toMatch(/\?path=websockify%3Fnode%3De2e-/);
      const page = await openViewer(browser, started.url);
      try {
        const { text } = await kvmOnScreen(page, profile);
        // The marker colour says which vendor profile; OCR confirms the node name on the host screen.
        expect(containsApprox(text, node), `OCR of the viewer: ${text}`).toBe(true);
        const launches = emu.state().launches;
        console.log(`${profile}: the KVM opened by launch path ${launches.join(', ')}`);
        expect(launches.length).toBeGreaterThan(0);
        for (const l of launches) expect(l, 'launch path').toBe(getProfile(profile).launch?.primary);

        const canvas = page.locator('#screen canvas').first();
        const box = (await canvas.boundingBox())!;
        await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
        await page.keyboard.type('hello 42', { delay: 30 });
        await until(
          'typed text at the emulated host',
          async () => emu.state().typed.includes('hello 42') && emu.state().clicks.length > 0,
          20_000,
        );

        await stack.agent.stop(node);
        const closed = await until(
          'the viewer to report the disconnect',
          async () => {
            const s = await viewerState(page);
            return s.state !== 'connected' && s.reason ? s : null;
          },
          30_000,
        );
        expect(closed.reason.length).toBeGreaterThan(3);
        expect(containerExists(`bmc-console-${node}`)).toBe(false);
      } finally {
        await page.close();
        await emu.close();
      }
    },
    180_000,
  );

  it('APP_INFO as Ironic sends it: system_id picks the host, auth_type reaches the Redfish client, unknown keys are logged by name only', async () => {
    const node = 'e2e-ironic-appinfo';
    const emu = await stack.emulator('openbmc', { node });
    const started = await stack.startConsole(node, emu, {
      appInfo: {
        system_id: '/redfish/v1/Systems/system2',
        auth_type: 'basic',
        root_prefix: '/redfish/v1',
        tls_min_version: 'TLSv1.2',
        firmware_update_unresponsive_bmc_wait: 300,
        future_option: 'opaque-value-7f3a',
      },
    });
    const page = await openViewer(browser, started.url);
    try {
      await kvmOnScreen(page, 'openbmc');
      expect(emu.state().launches).toEqual(['console-route']);
      // auth_type basic: the console's Redfish client holds no session; the one left is the browser's (webui-vue's).
      expect(emu.state().redfishSessions).toBe(1);
      const logs = execFileSync('podman', ['logs', `bmc-console-${node}`], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      expect(logs).toContain('"systemPath":"/redfish/v1/Systems/system2"');
      expect(logs).toMatch(/"ignoredKeys":\["future_option"\]/);
      expect(logs).not.toContain('opaque-value-7f3a');
      expect(logs).not.toContain(emu.password);
    } finally {
      await page.close();
      await stack.agent.stop(node);
      await emu.close();
    }
  }, 180_000);

  it('unknown BMC: the web UI is shown full screen with a notice that automatic login is unsupported', async () => {
    const node = 'e2e-unknown';
    const emu = await stack.emulator('unknown', { node });
    const started = await stack.startConsole(node, emu);
    const page = await openViewer(browser, started.url);
    try {
      const text = await until('the unsupported-vendor notice', async () => {
        const t = await ocr(await page.screenshot());
        return t.includes('not supported') ? t : null;
      });
      expect(text).toContain('automatic login');
    } finally {
      await page.close();
      await stack.agent.stop(node);
      await emu.close();
    }
  }, 180_000);

  it('READ_ONLY=True: the KVM is visible but clicks and keys do not reach the host', async () => {
    const node = 'e2e-readonly';
    const emu = await stack.emulator('idrac9', { node });
    const started = await stack.startConsole(node, emu, { readOnly: true });
    const page = await openViewer(browser, started.url);
    try {
      await kvmOnScreen(page, 'idrac9');
      expect((await viewerState(page)).readOnly).toBe(true);
      const box = (await page.locator('#screen canvas').first().boundingBox())!;
      await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
      await page.keyboard.type('should not arrive', { delay: 30 });
      // A control: the same wait that sees typing arrive in the writable test (x11vnc forwards within ~100 ms).
      await new Promise((r) => setTimeout(r, 3000));
      expect(emu.state().typed).toBe('');
      expect(emu.state().clicks).toHaveLength(0);
    } finally {
      await page.close();
      await stack.agent.stop(node);
      await emu.close();
    }
  }, 180_000);
});
