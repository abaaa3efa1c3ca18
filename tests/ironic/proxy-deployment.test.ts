/**
 * Deployment 2 with the REAL Ironic 29: `[vnc]public_url` is our proxy, which checks Ironic's own console tokens
 * (tokenSource "ironic") and answers the console's per-console VNC password itself; the plugin asks for that password
 * (`[bmc_console]vnc_password = True`). Chromium opens the URL Ironic hands out, our viewer shows the emulated KVM,
 * typed keys reach the host, and `console disable` through Ironic closes the live session and removes the container.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kvmMarkerColor } from '@bmc-console/bmc-emulator/marker';
import { rfbEndpoint } from '@bmc-console/common/contracts/agent-api';
import { RfbClient } from '@bmc-console/common/rfb/client';
import { createLogger } from '@bmc-console/common/log';
import { startProxy, type RunningProxy } from '@bmc-console/proxy/server';
import { openViewer, viewerState } from '../src/browser.js';
import { decodePng, findColourBlock } from '../src/screen.js';
import { until } from '../src/until.js';
import { IDRAC9_SYSTEM, startDeployment, type Deployment } from './lib/deployment.js';
import { typeIntoKvm } from './lib/kvm-input.js';
import { containerExists } from './lib/podman.js';
import { ironicPreconditions } from './lib/preconditions.js';
import { ironicTokensUnsupported } from './lib/proxy-support.js';

const pre = await ironicPreconditions('the Ironic deployment 2 tests');
const unsupported = pre.skip ? null : ironicTokensUnsupported();
if (unsupported) console.warn(`skipping the Ironic deployment 2 tests: ${unsupported}`);
const skip = pre.skip ?? unsupported;

describe.skipIf(skip)(
  "Ironic 29 deployment 2: [vnc]public_url is the bmc-console proxy checking Ironic's tokens",
  () => {
    let d: Deployment;
    let proxy: RunningProxy;
    let uuid = '';
    let page: Page | undefined;

    beforeAll(async () => {
      d = await startDeployment({
        label: 'deployment 2',
        image: pre.image,
        node: 'ironic-d2',
        vncPassword: true,
        front: async (stack, ironicApi) =>
          (proxy = await startProxy(
            {
              host: '127.0.0.1',
              port: 0,
              agentUrl: stack.agentUrl,
              tokenSource: 'ironic',
              ironic: { url: ironicApi, tokenTimeoutSec: 600 },
              limits: { reverifyIntervalSec: 1 },
            },
            { logger: createLogger('ironic-d2-proxy', { level: process.env.LOG_LEVEL ?? 'warn' }) },
          )),
      });
    }, 600_000);

    afterAll(async () => {
      await d?.close();
    });

    it("console enable: the console has a VNC password, and Ironic's URL shows the KVM in our viewer with typing reaching the host", async () => {
      uuid = (await d.api.enroll('ironic-d2', d.emu, IDRAC9_SYSTEM)).uuid;
      await d.api.setConsole(uuid, true);
      // Without the password (Ironic's own noVNC proxy) the console refuses: it is only for our proxy.
      const target = await d.stack.agent.target(uuid);
      expect(target.vncPassword).toBeDefined();
      await expect(RfbClient.connect({ ...rfbEndpoint(target), timeoutMs: 20_000 })).rejects.toThrow();

      const url = await d.api.consoleUrl(uuid);
      expect(url.startsWith(`${proxy.url}/?path=websockify%3Fnode%3D${uuid}%26token%3D`)).toBe(true);
      page = await openViewer(d.browser, url, 120_000);
      const p = page;
      await until(
        'the KVM marker in our viewer',
        async () => findColourBlock(decodePng(await p.screenshot()), kvmMarkerColor('idrac9'), 12),
        120_000,
        500,
      );
      await typeIntoKvm(page, d.emu, 'via ironic');
      expect(d.ironic.log().includes(d.emu.password), "the BMC password in Ironic's log").toBe(false);
    }, 360_000);

    it('a token Ironic did not issue is refused', async () => {
      expect(uuid).not.toBe('');
      const bad = await d.browser.newPage();
      try {
        await bad.goto(`${proxy.url}/?path=${encodeURIComponent(`websockify?node=${uuid}&token=${'A'.repeat(43)}`)}`);
        const s = await until(
          'the viewer to refuse the token',
          async () => {
            const v = await viewerState(bad);
            return v.state === 'failed' ? v : null;
          },
          30_000,
          250,
        );
        expect(s.reason).toMatch(/token/i);
      } finally {
        await bad.close();
      }
    }, 60_000);

    it('console disable through Ironic closes the live session and removes the container', async () => {
      expect(page).toBeDefined();
      await d.api.setConsole(uuid, false, 120_000);
      expect(containerExists(`bmc-console-${uuid}`)).toBe(false);
      const closed = await until(
        'the viewer to report the disconnect',
        async () => {
          const s = await viewerState(page!);
          return s.state !== 'connected' && s.reason ? s : null;
        },
        30_000,
      );
      expect(closed.reason.length).toBeGreaterThan(3);
      expect(proxy.sessionCount()).toBe(0);
    }, 180_000);
  },
);
