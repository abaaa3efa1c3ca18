/**
 * Browserless (direct) consoles end to end (issue #28, docs/direct.md): the agent as `serve` runs it (with RFB
 * relays), our proxy, the emulator's OpenBMC, XCC3 and iDRAC9 profiles and our viewer page in Chromium.
 * - `auto` serves each of them direct: no container, the viewer shows the KVM (the profile's marker, the node's name
 *   by OCR of the whole viewer page) and a click and typed keys reach the emulated host;
 * - the proxy logs out of the BMC its grace after the last viewer left;
 * - a wrong password and a console held by others show readable reasons in the viewer;
 * - Ironic's own noVNC proxy speaks RFB to the start result's host:port: there, the agent's relay shows the KVM to a
 *   plain RFB client that answers the console's VNC password;
 * - `auto` on a BMC without a direct dialect starts a container (needs the console image: skipped otherwise).
 */
import { execFileSync } from 'node:child_process';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kvmMarkerColor, showsMarker } from '@bmc-console/bmc-emulator/marker';
import type { ProfileName } from '@bmc-console/bmc-emulator/profiles';
import { rfbEndpoint } from '@bmc-console/common/contracts/agent-api';
import { RfbClient } from '@bmc-console/common/rfb/client';
import { launchBrowser, openViewer, viewerState } from '../src/browser.js';
import { consoleImageMissing } from '../src/preconditions.js';
import { containsApprox, decodePng, findColourBlock, ocr } from '../src/screen.js';
import { startStack, type Stack } from '../src/stack.js';
import { until } from '../src/until.js';

const DIRECT_PROFILES: ProfileName[] = ['openbmc', 'xcc3', 'idrac9'];
/** The proxy's BMC login grace in this suite (direct.releaseAfterSec): short, so the logout is seen. */
const RELEASE_AFTER_SEC = 2;

function containerExists(name: string): boolean {
  try {
    execFileSync('podman', ['container', 'exists', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Waits for the KVM's marker square in the viewer page; then OCRs the whole page. */
async function kvmOnScreen(page: Page, profile: ProfileName): Promise<string> {
  const colour = kvmMarkerColor(profile);
  await until(`the ${profile} KVM in the viewer`, async () =>
    findColourBlock(decodePng(await page.screenshot()), colour, 12),
  );
  return ocr(await page.screenshot());
}

/** The viewer's failure, once it shows one: headline and detail as a person reads them. */
async function viewerFailure(page: Page): Promise<{ state: string; reason: string; detail: string }> {
  return until(
    'the viewer to say why it is not connected',
    async () => {
      const s = await viewerState(page);
      if (s.state === 'connected' || s.state === 'connecting' || !s.reason) return null;
      const detail = (await page.locator('#overlay-detail').textContent()) ?? '';
      return { state: s.state, reason: s.reason, detail };
    },
    30_000,
  );
}

describe('direct consoles end to end: agent, proxy, BMC emulator and the viewer in Chromium', () => {
  let stack: Stack;
  let browser: Browser;
  beforeAll(async () => {
    stack = await startStack({
      agent: { console_mode: 'auto' },
      proxy: { direct: { releaseAfterSec: RELEASE_AFTER_SEC } },
    });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it.each(DIRECT_PROFILES)(
    '%s: auto serves it direct with no container; the viewer shows the KVM, click and keys reach the host; logout after the grace',
    async (profile) => {
      const node = `direct-${profile}`;
      const emu = await stack.emulator(profile, { node });
      const started = await stack.startConsole(node, emu);
      expect(started.mode).toBe('direct');
      expect(containerExists(`bmc-console-${node}`)).toBe(false);
      expect((await stack.agent.provider.list()).map((r) => r.node)).not.toContain(node);
      // auto's trial logged in and out already: the proxy's own logout of its web session comes on top (the KVM
      // socket's end is a logout of kind "kvm" in the emulator's list, and does not count here).
      const webLogouts = () => emu.state().logouts.filter((l) => l.kind !== 'kvm').length;
      const logoutsBefore = webLogouts();
      const page = await openViewer(browser, started.url);
      try {
        const text = await kvmOnScreen(page, profile);
        expect(containsApprox(text, node), `OCR of the viewer: ${text}`).toBe(true);
        // The whole page: the BMC's password and user are never on it.
        expect(text).not.toContain(emu.password);

        const box = (await page.locator('#screen canvas').first().boundingBox())!;
        await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
        await page.keyboard.type('hello 42', { delay: 30 });
        await until(
          'typed text and a click at the emulated host',
          async () => emu.state().typed.includes('hello 42') && emu.state().clicks.length > 0,
          20_000,
        );
        expect(emu.state().liveKvmSessions).toBe(1);
        expect(webLogouts(), 'no logout while the viewer watches').toBe(logoutsBefore);
      } finally {
        await page.close();
      }
      // The proxy keeps the BMC login for its grace, then logs out: the KVM socket is gone at once.
      await until('the KVM socket closed', async () => emu.state().liveKvmSessions === 0, 20_000);
      await until(
        'the BMC session logged out after the grace',
        async () => webLogouts() > logoutsBefore && emu.state().redfishSessions + emu.state().webSessions === 0,
        (RELEASE_AFTER_SEC + 20) * 1000,
      );
      await stack.agent.stop(node);
      await emu.close();
    },
    120_000,
  );

  it('a wrong password and a console held by others: the viewer says why', async () => {
    const node = 'direct-refused';
    const emu = await stack.emulator('openbmc', { node });
    const started = await stack.startConsole(node, emu);
    expect(started.mode).toBe('direct');

    // The BMC's password changed after the start: the proxy's login is refused.
    emu.control({ wrongPassword: true });
    let page = await browser.newPage();
    try {
      await page.goto(started.url);
      const refused = await viewerFailure(page);
      expect(refused.reason).toMatch(/BMC refused the login/);
      expect(refused.detail).toMatch(/user name or password/);
      expect(refused.state).not.toBe('reconnecting');
    } finally {
      await page.close();
    }

    // Someone else holds the BMC's console.
    emu.control({ wrongPassword: false, kvmBusy: true });
    page = await browser.newPage();
    try {
      await page.goto(started.url);
      const busy = await viewerFailure(page);
      expect(busy.reason).toMatch(/no free console session/);
      expect(busy.detail).toMatch(/^kvm: /);
      // The login the refused socket came from is logged out after the grace, as for a viewer that left.
      await until(
        "the proxy's BMC login ended",
        async () => emu.state().redfishSessions + emu.state().webSessions === 0,
        (RELEASE_AFTER_SEC + 20) * 1000,
      );
    } finally {
      await page.close();
      await stack.agent.stop(node);
      await emu.close();
    }
  }, 120_000);

  it("Ironic's path: the agent's relay at the start result's host:port shows the KVM to a plain RFB client", async () => {
    const node = 'direct-relay';
    const emu = await stack.emulator('idrac9', { node });
    const started = await stack.startConsole(node, emu, { consoleMode: 'direct' });
    expect(started.mode).toBe('direct');
    // The relay asks for the console's VNC password, as a container's x11vnc does (Ironic's plugin asks for none).
    const { vncPassword } = await stack.agent.target(node);
    const rfb = await RfbClient.connect({ ...rfbEndpoint(started), password: vncPassword, timeoutMs: 20_000 });
    try {
      await until(
        'the KVM marker through the relay',
        async () => {
          await rfb.requestUpdate(false);
          return showsMarker(rfb.framebuffer, kvmMarkerColor('idrac9'));
        },
        30_000,
      );
    } finally {
      rfb.close();
      await stack.agent.stop(node);
      await emu.close();
    }
  }, 120_000);

  const noImage = consoleImageMissing();
  it.skipIf(noImage)(
    `auto on a BMC without a direct dialect (iLO 5) starts a container${noImage ? ` (skipped: ${noImage})` : ''}`,
    async () => {
      const node = 'direct-auto-ilo5';
      const emu = await stack.emulator('ilo5', { node });
      const started = await stack.startConsole(node, emu);
      try {
        expect(started.mode).toBe('container');
        expect(containerExists(`bmc-console-${node}`)).toBe(true);
      } finally {
        await stack.agent.stop(node);
        await emu.close();
      }
    },
    180_000,
  );
});
