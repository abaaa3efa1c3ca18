import { startEmulator, type RunningEmulator } from '@bmc-console/bmc-emulator/emulator';
import { kvmMarkerColor } from '@bmc-console/bmc-emulator/marker';
import type { DirectTarget, DirectVendor } from '@bmc-console/common/contracts/direct-target';
import { RfbClient } from '@bmc-console/common/rfb/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxy, type RunningProxy } from '../src/server.js';
import { captureLogs } from './log-capture.js';
import { startFakeAgent, type FakeAgent } from './fake-agent.js';
import { startWsBridge, type WsBridge } from './ws-bridge.js';
import { closed, tryUpgrade } from './ws-upgrade.js';

const PASSWORD = 'Direct-proxy-pw1';
const WRONG_PASSWORD = 'Wrong-proxy-pw2';
const RELEASE_AFTER_SEC = 1;

let agent: FakeAgent;
let proxy: RunningProxy;
const logs = captureLogs('debug');
const logLines = logs.lines;
const emulators: RunningEmulator[] = [];
const bridges: WsBridge[] = [];
const clients: RfbClient[] = [];

beforeAll(async () => {
  agent = await startFakeAgent();
  proxy = await startProxy(
    {
      port: 0,
      agentUrl: agent.url,
      limits: { maxSessionsPerNode: 8, maxSessionsPerSource: 32, failedTokenBurst: 100 },
      direct: { timeoutMs: 5000, releaseAfterSec: RELEASE_AFTER_SEC },
    },
    { logger: logs.logger },
  );
});

afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all(bridges.map((b) => b.close()));
  await proxy?.close();
  await agent?.close();
  await Promise.all(emulators.map((e) => e.close()));
});

async function emulator(vendor: DirectVendor, node: string): Promise<RunningEmulator> {
  const e = await startEmulator({ vendor, node, password: PASSWORD });
  emulators.push(e);
  return e;
}

function target(e: RunningEmulator, vendor: DirectVendor, over: Partial<DirectTarget> = {}): DirectTarget {
  return { vendor, address: e.url, username: e.username, password: PASSWORD, verifyCa: false, ...over };
}

const wsUrl = (node: string, token: string) =>
  `${proxy.url.replace(/^http/, 'ws')}/websockify?node=${node}&token=${encodeURIComponent(token)}`;
const origin = () => ({ Origin: proxy.url });

/** A viewer through the proxy (websocket bridge + RFB client), as a browser's noVNC would be. */
async function viewer(node: string, token: string): Promise<{ client: RfbClient; bridge: WsBridge }> {
  const bridge = await startWsBridge(wsUrl(node, token), origin());
  bridges.push(bridge);
  const client = await RfbClient.connect({ host: '127.0.0.1', port: bridge.port, timeoutMs: 10_000 });
  clients.push(client);
  return { client, bridge };
}

/** The close code and reason a viewer gets when the proxy ends its session before any RFB. */
async function closeOf(node: string, token: string): Promise<{ code: number; reason: string }> {
  const { ws, status } = await tryUpgrade(wsUrl(node, token), origin());
  if (!ws) throw new Error(`upgrade refused with HTTP ${status}`);
  return closed(ws);
}

async function until(f: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`not reached in time: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function droppedViewOnly(): Promise<number> {
  const m = await proxy.metrics.inputDropped.get();
  return m.values.find((v) => v.labels.reason === 'view-only')?.value ?? 0;
}

const near = (a: readonly number[], b: readonly number[], tol = 4) =>
  a.every((v, i) => Math.abs(v - (b[i] ?? -99)) <= tol);

const bmcSessions = (e: RunningEmulator) => e.state().redfishSessions + e.state().webSessions;

describe.each([
  ['openbmc', 'OpenBMC IKVM', 'redfish'],
  ['xcc3', 'OpenBMC IKVM', 'web'],
  ['idrac9', 'OpenVNC', 'web'],
] as const)('%s direct console through the proxy', (vendor, desktopName, sessionKind) => {
  it("shows the host screen, carries keys, drops a view-only viewer's keys, shares one login and logs out after the grace", async () => {
    const node = `direct-${vendor}`;
    const e = await emulator(vendor, node);
    const control = agent.issue({ node, direct: target(e, vendor), user: 'alice' });
    const watch = agent.issue({ node, direct: target(e, vendor), role: 'view', user: 'bob' });

    const a = await viewer(node, control);
    expect([a.client.width, a.client.height, a.client.name]).toEqual([1024, 768, desktopName]);
    await a.client.requestUpdate(false);
    const m = kvmMarkerColor(vendor);
    // iDRAC sends RGB565: the marker comes back within the 5/6-bit quantisation.
    expect(near(a.client.pixel(0, 0), [m.r, m.g, m.b])).toBe(true);
    expect(a.client.pixel(64, 64)).toEqual([0, 0, 0]);
    await a.client.typeText('direct 7');
    await until(() => e.state().typed === 'direct 7', 'typed text reached the host');

    // A second viewer joins the same BMC login with a KVM socket of its own; its keys are dropped at the proxy.
    const b = await viewer(node, watch);
    await b.client.requestUpdate(false);
    expect(near(b.client.pixel(10, 10), [m.r, m.g, m.b])).toBe(true);
    expect(e.state().liveKvmSessions).toBe(2);
    expect(bmcSessions(e)).toBe(1);
    const droppedBefore = await droppedViewOnly();
    await b.client.typeText('zz');
    await until(async () => (await droppedViewOnly()) >= droppedBefore + 4, 'view-only keys dropped');
    await a.client.typeText('!');
    await until(() => e.state().typed === 'direct 7!', 'only the control viewer typed');
    expect(await (await fetch(`${proxy.url}/metrics`)).text()).toMatch(/^bmc_proxy_bmc_logins [1-9]/m);

    // The first to leave frees its KVM socket only: the login stays while the other viewer holds it.
    a.client.close();
    await until(() => e.state().liveKvmSessions === 1, 'first KVM socket closed');
    expect(bmcSessions(e)).toBe(1);
    await b.client.requestUpdate(true);
    b.client.close();
    await until(() => e.state().liveKvmSessions === 0, 'second KVM socket closed');
    await until(
      () => bmcSessions(e) === 0,
      'BMC session logged out after the grace',
      RELEASE_AFTER_SEC * 1000 + 10_000,
    );
    expect(e.state().logouts.map((l) => l.kind)).toContain(sessionKind);
    expect(e.state().logins.ok).toBe(1);

    const starts = logLines.filter((l) => l.event === 'session-start' && l.node === node);
    expect(starts).toHaveLength(2);
    for (const s of starts) expect(s).toMatchObject({ mode: 'direct', bmc: new URL(e.url).host, vendor });
    await until(() => logLines.filter((l) => l.event === 'session-end' && l.node === node).length === 2, 'audit');
    expect(logLines.find((l) => l.event === 'session-end' && l.node === node)).toMatchObject({
      mode: 'direct',
      closeCode: 1000,
    });
  });

  it("closes with 4506 and the login step's reason for a wrong BMC password", async () => {
    const node = `direct-${vendor}-wrong`;
    const e = await emulator(vendor, node);
    const token = agent.issue({ node, direct: target(e, vendor, { password: WRONG_PASSWORD }) });
    const { code, reason } = await closeOf(node, token);
    expect(code).toBe(4506);
    expect(reason).toMatch(/^login: the BMC rejected the user name or password/);
    expect(reason).not.toContain(WRONG_PASSWORD);
    expect(Buffer.byteLength(reason)).toBeLessThanOrEqual(123);
  });
});

describe('direct console failures', () => {
  it('closes the fifth OpenBMC viewer with 4507 (the BMC has 4 KVM sessions), the four keep working', async () => {
    const node = 'direct-openbmc-cap';
    const e = await emulator('openbmc', node);
    const token = agent.issue({ node, direct: target(e, 'openbmc') });
    const four = await Promise.all([0, 1, 2, 3].map(() => viewer(node, token)));
    expect(e.state().liveKvmSessions).toBe(4);
    const { code, reason } = await closeOf(node, token);
    expect(code).toBe(4507);
    expect(reason).toBe('kvm: the BMC refused the console: Max sessions are already connected');
    await four[0]?.client.typeText('cap');
    await until(() => e.state().typed === 'cap', 'keys after the refusal');
    for (const v of four) v.client.close();
    await until(() => e.state().liveKvmSessions === 0 && bmcSessions(e) === 0, 'all logged out');
  });

  it.each(['xcc3', 'idrac9'] as const)(
    'closes with 4507 when the %s console is held by someone else',
    async (vendor) => {
      const node = `direct-${vendor}-busy`;
      const e = await emulator(vendor, node);
      e.control({ kvmBusy: true });
      const { code, reason } = await closeOf(node, agent.issue({ node, direct: target(e, vendor) }));
      expect(code).toBe(4507);
      expect(reason.length).toBeGreaterThan(0);
    },
  );

  it('closes with 4502 "the BMC closed the console" when the BMC drops the socket mid-session', async () => {
    const node = 'direct-idrac9-drop';
    const e = await emulator('idrac9', node);
    const { client, bridge } = await viewer(node, agent.issue({ node, direct: target(e, 'idrac9') }));
    await client.requestUpdate(false);
    e.setDown(true);
    await until(() => bridge.lastClose !== undefined, 'the viewer was closed');
    expect(bridge.lastClose).toEqual({ code: 4502, reason: 'the BMC closed the console' });
    e.setDown(false);
  });

  it("closes with 4508 when the BMC's certificate fails the trust rule, and 4503 when it cannot be reached", async () => {
    const node = 'direct-openbmc-trust';
    const e = await emulator('openbmc', node);
    // The emulator's self-signed certificate is not in the system store.
    const strict = await closeOf(node, agent.issue({ node, direct: target(e, 'openbmc', { verifyCa: true }) }));
    expect(strict.code).toBe(4508);
    expect(strict.reason).toMatch(/^login: .*certificate/);
    const gone = await closeOf(
      'direct-gone',
      agent.issue({ node: 'direct-gone', direct: target(e, 'openbmc', { address: 'https://127.0.0.1:1' }) }),
    );
    expect(gone.code).toBe(4503);
    expect(gone.reason).toMatch(/^login: .*ECONNREFUSED/);
  });

  it('never writes a BMC password into its log', () => {
    expect(logLines.some((l) => l.event === 'session-end')).toBe(true);
    expect(logs.text()).not.toContain(PASSWORD);
    expect(logs.text()).not.toContain(WRONG_PASSWORD);
  });
});
