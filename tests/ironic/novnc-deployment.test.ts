/**
 * Deployment 1 with the REAL Ironic 29 (Debian trixie): Ironic's own noVNC proxy, our conductor plugin, our agent
 * (real podman provider and console image) and an emulated iDRAC 9. Everything goes through Ironic's REST API:
 * enroll, validate and manage (Ironic's own Redfish calls against the emulator), console enable, the console URL
 * opened in headless Chromium (Debian's noVNC vnc_lite.html, which connects by itself) showing the KVM, typed keys
 * arriving at the emulated host, console disable removing the container, the boot device and power off/on/reboot
 * (sushy's PATCH and ComputerSystem.Reset against the emulator), and, with the agent's TCP API and its key instead
 * of the socket, Ironic's token expiry stopping the console through the plugin.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kvmMarkerColor } from '@bmc-console/bmc-emulator/marker';
import { startStack, type Stack } from '../src/stack.js';
import { until } from '../src/until.js';
import { serveAgentOnTcp, type AgentTcpApi } from './lib/agent-tcp.js';
import { IDRAC9_SYSTEM, startDeployment, type Deployment } from './lib/deployment.js';
import { IronicApi, type IronicNode } from './lib/ironic-api.js';
import { startIronic, type RunningIronic } from './lib/ironic-server.js';
import { typeIntoKvm } from './lib/kvm-input.js';
import { noVncStatus, waitForKvm } from './lib/novnc-page.js';
import { containerExists, podman } from './lib/podman.js';
import { ironicPreconditions } from './lib/preconditions.js';

const { image, skip } = await ironicPreconditions('the Ironic deployment 1 tests');

describe.skipIf(skip)('Ironic 29 deployment 1: ironic-novncproxy, the bmc-console plugin and agent', () => {
  let d: Deployment;
  let uuid = '';
  let page: Page | undefined;

  beforeAll(async () => {
    d = await startDeployment({ label: 'deployment 1', image, node: 'ironic-d1', vncPassword: false });
  }, 600_000);

  afterAll(async () => {
    await d?.close();
  });

  it("the conductor's start called stop_all_containers through the agent", async () => {
    await until(
      "the plugin's stop_all_containers log line",
      () => d.ironic.log().includes('bmc-console agent stopped all consoles'),
      30_000,
    );
  });

  it("Ironic's Redfish calls against the emulator: enroll, validate power/management/console, manage reads the power state", async () => {
    const node = await d.api.enroll('ironic-d1', d.emu, IDRAC9_SYSTEM);
    uuid = node.uuid;
    const v = await d.api.validate(uuid);
    for (const iface of ['power', 'management', 'console'] as const)
      expect(v[iface]?.result, `${iface}: ${v[iface]?.reason}`).toBe(true);
    const managed = await d.api.manage(uuid);
    expect(managed.power_state).toBe('power on');
    expect(managed.last_error).toBeNull();
  }, 180_000);

  it("console enable: Ironic's URL opens in Chromium through ironic-novncproxy, shows the KVM, and typed keys reach the host", async () => {
    expect(uuid).not.toBe('');
    const t = Date.now();
    await d.api.setConsole(uuid, true);
    console.info(`deployment 1: console enabled through Ironic in ${Math.round((Date.now() - t) / 1000)} s`);
    // Ironic's noVNC proxy speaks RFB security None only: the plugin asks for a console without a VNC password.
    expect((await d.stack.agent.target(uuid)).vncPassword).toBeUndefined();
    const url = await d.api.consoleUrl(uuid);
    expect(url).toMatch(
      new RegExp(
        `^http://127\\.0\\.0\\.1:${d.ironic.novncPort}/vnc_lite\\.html\\?path=websockify%3Fnode%3D${uuid}%26token%3D`,
      ),
    );
    page = await d.browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await page.goto(url);
    await waitForKvm(page, kvmMarkerColor('idrac9'), "Chromium on Ironic's console URL");
    await typeIntoKvm(page, d.emu, 'ironic 29');
    // Ironic keeps BMC credentials in its database; the console gets them as podman secrets, not in its config.
    // Booleans, so a failure never prints the text that holds the password.
    expect(
      (await podman(['inspect', `bmc-console-${uuid}`])).includes(d.emu.password),
      'the BMC password in podman inspect',
    ).toBe(false);
    expect(d.ironic.log().includes(d.emu.password), "the BMC password in Ironic's log").toBe(false);
  }, 360_000);

  it('console disable: the agent removes the container and noVNC shows the disconnect', async () => {
    expect(page).toBeDefined();
    await d.api.setConsole(uuid, false, 120_000);
    expect(
      d.ironic.log().includes(`bmc-console agent stopped the console of node ${uuid}`),
      "the plugin's stop log line",
    ).toBe(true);
    expect(containerExists(`bmc-console-${uuid}`)).toBe(false);
    await until('noVNC to report the disconnect', async () => /disconnect/i.test(await noVncStatus(page!)), 30_000);
    await expect(d.api.consoleUrl(uuid)).rejects.toThrow(/no console URL/);
  }, 180_000);

  it('boot device through Ironic (sushy PATCHes Boot with If-Match): disk persistent, then pxe once, read back from the BMC', async () => {
    expect(uuid).not.toBe('');
    const bootDevice = () =>
      d.api.call<{ boot_device: string | null; persistent: boolean | null }>(
        'GET',
        `/v1/nodes/${uuid}/management/boot_device`,
      );
    await d.api.call('PUT', `/v1/nodes/${uuid}/management/boot_device`, { boot_device: 'disk', persistent: true });
    expect(await bootDevice()).toEqual({ boot_device: 'disk', persistent: true });
    await d.api.call('PUT', `/v1/nodes/${uuid}/management/boot_device`, { boot_device: 'pxe', persistent: false });
    expect(await bootDevice()).toEqual({ boot_device: 'pxe', persistent: false });
    expect((await d.api.node(uuid)).last_error).toBeNull();
  }, 120_000);

  // After the boot device test: the power cycle uses up its one-time override.
  it('Ironic powers the node off, on and reboots it (sushy POSTs ComputerSystem.Reset to the emulator)', async () => {
    expect(uuid).not.toBe('');
    // Ironic refuses a power request while target_power_state still names the previous one.
    const settled = (what: string) =>
      until(
        what,
        async () => {
          const node = await d.api.node(uuid);
          if (node.last_error) throw new Error(`${what}: ${node.last_error}`);
          return (node as IronicNode & { target_power_state?: string | null }).target_power_state ? null : node;
        },
        120_000,
        500,
      );
    expect((await d.api.setPower(uuid, 'power off')).power_state).toBe('power off');
    await settled('the power-off to finish');
    expect((await d.api.setPower(uuid, 'power on')).power_state).toBe('power on');
    await settled('the power-on to finish');
    // Ironic's hard reboot of a node that is on: ForceOff, then On once the BMC reports it off.
    await d.api.call('PUT', `/v1/nodes/${uuid}/states/power`, { target: 'rebooting' });
    await until(
      'Ironic to take the reboot',
      async () =>
        ((await d.api.node(uuid)) as IronicNode & { target_power_state?: string | null }).target_power_state ?? null,
      10_000,
      100,
    ).catch(() => undefined);
    const n = await settled('the reboot to finish');
    expect([n.power_state, n.last_error]).toEqual(['power on', null]);
    // The first boot after "pxe once" used the override up: the BMC says Disabled, for which Ironic has no persistence.
    expect(await d.api.call('GET', `/v1/nodes/${uuid}/management/boot_device`)).toEqual({
      boot_device: 'pxe',
      persistent: null,
    });
  }, 300_000);

  it('conductor shutdown (SIGTERM) calls stop_all_containers through the agent', async () => {
    const calls = () => d.ironic.log().split('bmc-console agent stopped all consoles').length - 1;
    const before = calls();
    expect(before).toBeGreaterThan(0);
    // Chromium's kept-alive connections to Ironic's noVNC web server would hold its shutdown to podman's 30 s timeout.
    await d.browser.close();
    await d.ironic.stop();
    expect(calls()).toBeGreaterThan(before);
  }, 120_000);
});

describe.skipIf(skip)("Ironic 29 deployment 1 with a direct console (the agent's console_mode auto)", () => {
  let d: Deployment;

  beforeAll(async () => {
    d = await startDeployment({
      label: 'deployment 1, direct',
      image,
      node: 'ironic-direct',
      vncPassword: false,
      agent: { console_mode: 'auto' },
    });
  }, 600_000);

  afterAll(async () => {
    await d?.close();
  });

  it("console enable serves the iDRAC9 direct (no container); ironic-novncproxy reaches the BMC's own RFB through the agent's relay", async () => {
    const { uuid } = await d.api.enroll('ironic-direct', d.emu, IDRAC9_SYSTEM);
    await d.api.setConsole(uuid, true);
    const [status] = await d.stack.agent.status(uuid);
    expect(status?.mode).toBe('direct');
    expect(containerExists(`bmc-console-${uuid}`)).toBe(false);
    const page = await d.browser.newPage({ viewport: { width: 1280, height: 1000 } });
    try {
      await page.goto(await d.api.consoleUrl(uuid));
      await waitForKvm(page, kvmMarkerColor('idrac9'), "Chromium on Ironic's console URL, direct");
      await typeIntoKvm(page, d.emu, 'direct 29');
      expect(d.ironic.log().includes(d.emu.password), "the BMC password in Ironic's log").toBe(false);
    } finally {
      await page.close();
    }
    await d.api.setConsole(uuid, false, 120_000);
    await until('the relay closed and the BMC logged out', async () => d.emu.state().liveKvmSessions === 0, 30_000);
  }, 360_000);
});

describe.skipIf(skip)(
  "Ironic 29 on the agent's TCP API with its key: an expired console token makes Ironic stop the console through the plugin",
  () => {
    let stack: Stack;
    let tcp: AgentTcpApi;
    let ironic: RunningIronic;

    beforeAll(async () => {
      stack = await startStack();
      // No socket mounted: every call of the plugin goes over TCP with the key from [bmc_console]credential_file.
      tcp = await serveAgentOnTcp(stack.agent);
      // Ironic's minimum token lifetime, and a check every 2 s: the console should be gone about 12 s after enable.
      ironic = await startIronic({
        image,
        agent: { url: tcp.url, apiKeyFile: tcp.apiKeyFile },
        vncPassword: false,
        tokenTimeoutSec: 10,
        expireIntervalSec: 2,
      });
    }, 600_000);

    afterAll(async () => {
      await ironic?.close();
      await tcp?.close();
      await stack?.close();
    });

    it("token_timeout 10 s: Ironic's periodic task disables the console and the agent removes the container", async () => {
      const emu = await stack.emulator('idrac9', { node: 'ironic-expiry' });
      const api = new IronicApi(ironic.api, ironic.log);
      const { uuid } = await api.enroll('ironic-expiry', emu, IDRAC9_SYSTEM);
      await api.setConsole(uuid, true);
      const enabledAt = Date.now();
      expect(containerExists(`bmc-console-${uuid}`)).toBe(true);
      await api.waitConsole(uuid, false, 120_000);
      console.info(
        `token expiry: Ironic stopped the console ${Math.round((Date.now() - enabledAt) / 1000)} s after enable`,
      );
      expect(
        ironic.log().includes(`Graphical console session has expired for ${uuid}`),
        "Ironic's expiry log line",
      ).toBe(true);
      expect(
        ironic.log().includes(`bmc-console agent stopped the console of node ${uuid}`),
        "the plugin's stop log line",
      ).toBe(true);
      expect(containerExists(`bmc-console-${uuid}`)).toBe(false);
    }, 360_000);
  },
);
