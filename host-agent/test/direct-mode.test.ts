// Direct consoles in the agent against the BMC emulator's real Redfish and KVM sockets: `auto` picks direct for
// OpenBMC, XCC3 and iDRAC9 and a container otherwise or when the trial is refused; tokens carry the BMC target; the
// agent's RFB relay serves standard RFB (and drops a read-only console's keys); stop, reconcile and a restart.
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '@bmc-console/bmc-emulator/emulator';
import { kvmMarkerColor } from '@bmc-console/bmc-emulator/marker';
import { PROFILE_NAMES, type ProfileName } from '@bmc-console/bmc-emulator/profiles';
import { rfbEndpoint } from '@bmc-console/common/contracts/agent-api';
import type { DirectVendor } from '@bmc-console/common/contracts/direct-target';
import { createLogger } from '@bmc-console/common/log';
import { RfbClient } from '@bmc-console/common/rfb/client';
import { tempDir } from '@bmc-console/common/testing/temp-dir';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApi } from '../src/api.js';
import { loadConfig, type AgentConfigInput } from '../src/config.js';
import { AgentError, ConsoleAgent } from '../src/console-agent.js';
import { discoverDialect, type RedfishAppInfo } from '../src/direct-console.js';
import { DirectRelays } from '../src/direct-relay.js';
import { FakeProvider } from '../src/providers/fake.js';
import { tokenOf } from './support/agent-fixture.js';

const PASSWORD = 'Direct-Agent-pw-4711';
const logLines: string[] = [];
// Every line the agents and relays log, kept for the secret check (nothing reaches stdout).
const log = createLogger('direct-mode-test', {
  level: 'debug',
  hooks: {
    streamWrite: (line) => {
      logLines.push(line);
      return '';
    },
  },
});

const running: { close(): Promise<void> }[] = [];
afterAll(async () => {
  for (const r of running.reverse()) await r.close();
});

async function emulator(vendor: EmulatorOptions['vendor'], extra: EmulatorOptions = {}): Promise<RunningEmulator> {
  const e = await startEmulator({ vendor, node: 'direct-node', password: PASSWORD, ...extra });
  running.push(e);
  return e;
}

function appInfoOf(e: RunningEmulator, extra: Record<string, unknown> = {}) {
  return { address: e.url, username: e.username, password: PASSWORD, verify_ca: false, ...extra };
}

/** An agent with the fake provider (container starts are recorded, nothing runs) and, unless told, relays. */
async function agentWith(overrides: AgentConfigInput = {}, withRelays = true) {
  const config = loadConfig({
    env: {},
    overrides: {
      container_provider: 'fake',
      state_dir: tempDir('agent-direct-'),
      agent_host: `direct-${process.pid}`,
      ca_bundle_dir: tmpdir(),
      direct_timeout: 10,
      ...overrides,
    },
  });
  const provider = new FakeProvider();
  const relays = withRelays
    ? new DirectRelays({ address: '127.0.0.1', timeoutMs: 10_000, releaseAfterMs: 0, log })
    : undefined;
  const agent = await ConsoleAgent.create(config, log, { provider, ...(relays ? { relays } : {}) });
  running.push({ close: () => agent.dispose() });
  return { agent, provider, config };
}

async function until(f: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(false)));
    s.once('error', () => resolve(true));
  });
}

const near = (a: readonly number[], b: readonly number[], tol = 4) =>
  a.every((v, i) => Math.abs(v - (b[i] ?? -99)) <= tol);

describe.each(['openbmc', 'xcc3', 'idrac9'] as const)('%s', (vendor: DirectVendor) => {
  it('auto serves it direct: no container, a token with the BMC, an RFB relay that carries keys', async () => {
    const e = await emulator(vendor);
    const { agent, provider } = await agentWith({ console_mode: 'auto' });
    const started = await agent.start({ node: 'n-direct', appInfo: appInfoOf(e) });
    expect(started.mode).toBe('direct');
    expect(provider.lastRequest('n-direct')).toBeUndefined();
    // The trial logged in, opened the KVM and logged out.
    await until(() => e.state().liveKvmSessions === 0 && e.state().redfishSessions + e.state().webSessions === 0);

    const v = await agent.verify('n-direct', tokenOf(started.url));
    if (!v.ok) throw new Error(`token refused: ${v.reason}`);
    expect(v.target.direct).toMatchObject({
      vendor,
      address: new URL(e.url).origin,
      username: e.username,
      password: PASSWORD,
      verifyCa: false,
    });
    expect(v.target.direct?.pinSha256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const target = await agent.target('n-direct');
    expect(target.direct?.vendor).toBe(vendor);
    const [status] = await agent.status('n-direct');
    expect(status).toMatchObject({ mode: 'direct', status: 'running', host: started.host, port: started.port });
    expect(JSON.stringify(status)).not.toContain(PASSWORD);

    // The relay is on loopback, where local users reach it too: it asks for the console's VNC password.
    const password = target.vncPassword;
    expect(password).toBeDefined();
    await expect(RfbClient.connect({ ...rfbEndpoint(started), timeoutMs: 10_000 })).rejects.toThrow();
    await expect(RfbClient.connect({ ...rfbEndpoint(started), password: 'not-it', timeoutMs: 10_000 })).rejects.toThrow(
      /auth/i,
    );
    const c = await RfbClient.connect({ ...rfbEndpoint(started), password, timeoutMs: 10_000 });
    await c.requestUpdate(false);
    const m = kvmMarkerColor(vendor);
    expect(near(c.pixel(0, 0), [m.r, m.g, m.b])).toBe(true);
    await c.typeText('relay 9');
    await until(() => e.state().typed === 'relay 9');
    c.close();

    const { port } = rfbEndpoint(started);
    await agent.stop('n-direct');
    expect(await refused(port)).toBe(true);
    await until(() => e.state().liveKvmSessions === 0 && e.state().redfishSessions + e.state().webSessions === 0);
    expect(await agent.status()).toEqual([]);
  });
});

describe("auto's dialect for every emulator profile", () => {
  const DIRECT: Partial<Record<ProfileName, DirectVendor>> = { openbmc: 'openbmc', xcc3: 'xcc3', idrac9: 'idrac9' };
  it.each(PROFILE_NAMES)('%s', async (profile) => {
    const e = await emulator(profile);
    const verdict = await discoverDialect(appInfoOf(e) as RedfishAppInfo, 10_000, log);
    expect(verdict.vendor).toBe(DIRECT[profile] ?? null);
    await e.close();
    running.splice(running.indexOf(e), 1);
  });
});

describe('mode resolution', () => {
  it('auto serves an iLO 5 by a container', async () => {
    const e = await emulator('ilo5');
    const { agent, provider } = await agentWith({ console_mode: 'auto' });
    const started = await agent.start({ node: 'n-ilo', appInfo: appInfoOf(e) });
    expect(started).toMatchObject({ mode: 'container', host: '192.0.2.1', port: 5900 });
    expect(provider.lastRequest('n-ilo')).toBeDefined();
    expect((await agent.status('n-ilo'))[0]?.mode).toBe('container');
  });

  it('direct on a BMC without a direct KVM is invalid, naming the node and the reason; so is a bad mode', async () => {
    const e = await emulator('ilo5');
    const { agent, provider } = await agentWith();
    const err = await agent
      .start({ node: 'n-ilo', appInfo: appInfoOf(e), consoleMode: 'direct' })
      .catch((x: unknown) => x);
    expect(err).toBeInstanceOf(AgentError);
    expect((err as AgentError).kind).toBe('invalid');
    expect((err as AgentError).message).toMatch(/^node n-ilo: consoleMode direct: the BMC has no direct KVM \(ilo/);
    expect(provider.lastRequest('n-ilo')).toBeUndefined();

    const bad = await agent.start({ node: 'n-ilo', appInfo: appInfoOf(e), consoleMode: 'browserless' }).catch((x) => x);
    expect((bad as AgentError).message).toMatch(/consoleMode: expected one of auto, container, direct/);

    // The API refuses the same with 400, naming the field.
    const app = buildApi(agent, { listen: { kind: 'unix', path: '/nonexistent/agent.sock' } });
    const answer = await app.inject({
      method: 'POST',
      url: '/v1/consoles',
      headers: { host: 'localhost', 'content-type': 'application/json' },
      payload: { node: 'n-ilo', appInfo: appInfoOf(e), consoleMode: 'direct' },
    });
    expect(answer.statusCode).toBe(400);
    expect(answer.json()).toMatchObject({ error: { kind: 'invalid', node: 'n-ilo' } });
    const badMode = await app.inject({
      method: 'POST',
      url: '/v1/consoles',
      headers: { host: 'localhost', 'content-type': 'application/json' },
      payload: { node: 'n-ilo', appInfo: appInfoOf(e), consoleMode: 'x' },
    });
    expect(badMode.statusCode).toBe(400);
    expect(badMode.json().error.message).toMatch(/^consoleMode: /);
    await app.close();
  });

  it('auto falls back to a container when the trial finds the KVM busy', async () => {
    const e = await emulator('openbmc', { faults: { kvmBusy: true } });
    const { agent, provider } = await agentWith({ console_mode: 'auto' });
    const started = await agent.start({ node: 'n-busy', appInfo: appInfoOf(e) });
    expect(started.mode).toBe('container');
    expect(provider.lastRequest('n-busy')).toBeDefined();
    expect(logLines.some((l) => /serving a container/.test(l) && /direct trial failed/.test(l))).toBe(true);
  });

  it('a CA bundle under ca_bundle_dir becomes verifyCa true with the bundle text', async () => {
    const caDir = tempDir('agent-direct-ca-');
    const e = await emulator('openbmc', { caDir });
    const { agent } = await agentWith({ ca_bundle_dir: caDir }, false);
    const started = await agent.start({
      node: 'n-ca',
      appInfo: appInfoOf(e, { verify_ca: e.caFile }),
      consoleMode: 'direct',
    });
    // Without relays (a CLI start) the console has no host:port.
    expect(started).toMatchObject({ mode: 'direct' });
    expect(started.host).toBeUndefined();
    const v = await agent.verify('n-ca', tokenOf(started.url));
    if (!v.ok) throw new Error(`token refused: ${v.reason}`);
    expect(v.target.direct).toMatchObject({ vendor: 'openbmc', verifyCa: true });
    expect(v.target.direct?.caBundlePem).toContain('-----BEGIN CERTIFICATE-----');
    expect(v.target.direct?.pinSha256).toBeUndefined();
    expect(v.target.host).toBeUndefined();
  });
});

describe('relay', () => {
  it("drops a read-only console's keys, keeps it through reconcile, and comes back on its port after a restart", async () => {
    const e = await emulator('openbmc');
    const { agent, config } = await agentWith({ console_mode: 'direct' });
    // Without a VNC password, as Ironic's own noVNC proxy asks for: the relay offers security None.
    const started = await agent.start({ node: 'n-ro', appInfo: appInfoOf(e), readOnly: true, vncPassword: false });
    expect((await agent.target('n-ro')).vncPassword).toBeUndefined();
    const c = await RfbClient.connect({ ...rfbEndpoint(started), timeoutMs: 10_000 });
    await c.requestUpdate(false);
    await c.typeText('nope');
    // The update asked after the keys is answered after the BMC had them, had they been sent.
    await c.requestUpdate(false);
    expect(e.state().typed).toBe('');
    expect(e.state().keys).toEqual([]);
    c.close();

    expect(await agent.reconcile()).toEqual({ died: [], stoppedUnknown: [] });
    expect((await agent.status('n-ro'))[0]?.status).toBe('running');

    // serve stops (relays closed) and starts again on the same state: the relay returns on its port.
    await agent.dispose();
    const { port } = rfbEndpoint(started);
    expect(await refused(port)).toBe(true);
    const relays = new DirectRelays({ address: '127.0.0.1', timeoutMs: 10_000, releaseAfterMs: 0, log });
    const again = await ConsoleAgent.create(config, log, { provider: new FakeProvider(), relays });
    running.push({ close: () => again.dispose() });
    await again.reconcile();
    expect((await again.status('n-ro'))[0]).toMatchObject({ mode: 'direct', port });
    const c2 = await RfbClient.connect({ host: '127.0.0.1', port, timeoutMs: 10_000 });
    await c2.requestUpdate(false);
    expect(c2.width).toBe(1024);
    c2.close();
    const v = await again.verify('n-ro', tokenOf(started.url));
    expect(v.ok && v.target.port).toBe(port);
    await again.stopAll();
    expect(await refused(port)).toBe(true);
  });
});

describe('relay with a VNC password', () => {
  it('a read-only console: the answer to the challenge passes, keys do not', async () => {
    const e = await emulator('idrac9');
    const { agent } = await agentWith({ console_mode: 'direct' });
    const started = await agent.start({ node: 'n-ro-pw', appInfo: appInfoOf(e), readOnly: true });
    const { vncPassword } = await agent.target('n-ro-pw');
    const c = await RfbClient.connect({ ...rfbEndpoint(started), password: vncPassword, timeoutMs: 10_000 });
    await c.requestUpdate(false);
    await c.typeText('nope');
    await c.requestUpdate(false);
    expect(c.width).toBe(1024);
    expect(e.state().typed).toBe('');
    c.close();
    await agent.stop('n-ro-pw');
  });
});

describe('secrets', () => {
  it('the BMC password never appears in the log output', () => {
    expect(logLines.length).toBeGreaterThan(10);
    expect(logLines.filter((l) => l.includes(PASSWORD))).toEqual([]);
  });
});
