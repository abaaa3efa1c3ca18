// tokenSource "ironic": viewers bring Ironic's console URLs; the proxy checks the token with a fake Ironic API
// (HTTP basic service account) and gets the console's address and VNC password from the real agent, whose
// provider here starts a real x11vnc with the password the agent chose.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@bmc-console/common/log';
import { RfbClient } from '@bmc-console/common/rfb/client';
import { startApi } from '@bmc-console/host-agent/api';
import { loadConfig } from '@bmc-console/host-agent/config';
import { ConsoleAgent } from '@bmc-console/host-agent/console-agent';
import type {
  ConsoleEndpoint,
  ConsoleProvider,
  ConsoleRecord,
  StartRequest,
} from '@bmc-console/host-agent/providers/provider';
import {
  setRootColour,
  startX11vnc,
  startXvfb,
  type TestDisplay,
  type TestVnc,
} from '@bmc-console/common/testing/rfb-display';
import { startProxy, type RunningProxy } from '../src/server.js';
import { startFakeIronic, type FakeIronic } from './fake-ironic.js';
import { captureLogs } from './log-capture.js';
import { startWsBridge } from './ws-bridge.js';
import { closed, tryUpgrade } from './ws-upgrade.js';
import { tempDir } from '@bmc-console/common/testing/temp-dir';

const NODE = '1be26c0b-03f2-4d2e-ae87-c02d7f33c123';
const OTHER = '9a1f0f5e-6b7d-4c55-9d2f-5b0a5c3d2e11';
const THIRD = '5c0b8d2e-3f4a-4b6c-8d9e-0a1b2c3d4e5f';
const SERVICE_USER = 'bmc-console-proxy';
const SERVICE_PASSWORD = 'S3rvice-pässword "with" spaces';

/** Starts a real x11vnc per console with the VNC password the agent generated, like the console image would. */
class X11vncProvider implements ConsoleProvider {
  readonly name = 'x11vnc-test';
  readonly running = new Map<string, TestVnc>();
  /** Every VNC password the agent gave a console (to check they stay out of the logs). */
  readonly passwords: string[] = [];
  constructor(private readonly display: string) {}
  async start(req: StartRequest): Promise<ConsoleEndpoint> {
    if (req.vncPassword !== undefined) this.passwords.push(req.vncPassword);
    const vnc = await startX11vnc(this.display, req.vncPassword !== undefined ? { password: req.vncPassword } : {});
    this.running.set(req.node, vnc);
    return { host: '127.0.0.1', port: vnc.port };
  }
  async stop(node: string): Promise<void> {
    await this.running.get(node)?.stop();
    this.running.delete(node);
  }
  async stopAll(): Promise<void> {
    for (const node of [...this.running.keys()]) await this.stop(node);
  }
  async list(): Promise<ConsoleRecord[]> {
    return [...this.running.keys()].map((node) => ({ node, name: `x11vnc-${node}`, running: true }));
  }
}

let xvfb: TestDisplay;
let provider: X11vncProvider;
let agent: ConsoleAgent;
let closeAgentApi: () => Promise<void>;
let ironic: FakeIronic;
let proxy: RunningProxy;
const logs = captureLogs('debug');

beforeAll(async () => {
  xvfb = await startXvfb(320, 240);
  setRootColour(xvfb.display, '#3050c0');
  provider = new X11vncProvider(xvfb.display);
  const dir = tempDir('proxy-ironic-');
  const config = loadConfig({
    env: {},
    overrides: {
      container_provider: 'fake',
      state_dir: join(dir, 'state'),
      agent_host: `ironic-test-${process.pid}`,
      reconcile_interval: 0,
      api_listen: `unix:${join(dir, 'run', 'agent.sock')}`,
    },
  });
  agent = await ConsoleAgent.create(config, createLogger('agent', { level: 'silent' }), { provider });
  const api = await startApi(agent);
  closeAgentApi = () => api.app.close();
  ironic = await startFakeIronic({ basicAuth: { username: SERVICE_USER, password: SERVICE_PASSWORD } });
  const passwordFile = join(dir, 'ironic-password');
  writeFileSync(passwordFile, `${SERVICE_PASSWORD}\n`, { mode: 0o600 });
  proxy = await startProxy(
    {
      port: 0,
      agentUrl: api.address,
      tokenSource: 'ironic',
      ironic: { url: ironic.url, authStrategy: 'http_basic', username: SERVICE_USER, passwordFile, timeoutMs: 2000 },
      limits: { reverifyIntervalSec: 0.2, failedTokenBurst: 100 },
    },
    { logger: logs.logger },
  );
  ironic.publicUrl = `${proxy.url}/vnc_auto.html`;
}, 60_000);

afterAll(async () => {
  await proxy?.close();
  await ironic?.close();
  await closeAgentApi?.();
  await provider?.stopAll();
  await xvfb?.stop();
});

/** What Ironic's conductor does with our plugin: the agent starts the console, Ironic stores a token. */
async function enableConsole(node: string, opts: { readOnly?: boolean } = {}): Promise<string> {
  await agent.start({
    node,
    appInfo: { address: 'https://10.0.2.2:8443', username: 'root', password: 'calvin' },
    ...(opts.readOnly !== undefined ? { readOnly: opts.readOnly } : {}),
  });
  return ironic.enable(node);
}

/** The websocket URL a viewer opened on Ironic's console URL connects to: /websockify?node=..&token=.. */
function wsUrlOf(consoleUrl: string): string {
  const path = new URL(consoleUrl).searchParams.get('path') ?? '';
  return `${proxy.url.replace(/^http/, 'ws')}/${path}`;
}

const withToken = (node: string, token: string) =>
  `${proxy.url.replace(/^http/, 'ws')}/websockify?node=${node}&token=${encodeURIComponent(token)}`;
const tokenIn = (consoleUrl: string) =>
  new URLSearchParams((new URL(consoleUrl).searchParams.get('path') ?? '').split('?')[1]).get('token') ?? '';
const origin = () => ({ Origin: proxy.url });

const upgrade = (url: string) => tryUpgrade(url, origin());

async function tokenStatus(node: string, token: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${proxy.url}/api/token-status`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: proxy.url },
    body: JSON.stringify({ node, token }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('Ironic console tokens (fake Ironic API, real agent, real x11vnc)', () => {
  it("opens a session for a valid Ironic token and relays the console, logging in with the agent's VNC password", async () => {
    const url = await enableConsole(NODE, { readOnly: true });
    const before = ironic.requests.length;
    const bridge = await startWsBridge(wsUrlOf(url), origin());
    const client = await RfbClient.connect({ host: '127.0.0.1', port: bridge.port });
    await client.requestUpdate(false);
    for (let i = 0; i < 20 && client.pixel(100, 50).join() !== '48,80,192'; i++) await client.requestUpdate(false);
    expect(client.pixel(100, 50)).toEqual([48, 80, 192]);
    expect(proxy.sessionCount()).toBe(1);
    client.close();
    await bridge.close();
    // Ironic was asked with the microversion and the service account; the agent's target decided readOnly.
    const asked = ironic.requests.slice(before)[0];
    expect(asked?.path).toBe(`/v1/nodes/${NODE}/states/console`);
    expect(asked?.headers['x-openstack-ironic-api-version']).toBe('1.1');
    expect(asked?.headers.authorization).toMatch(/^Basic /);
    expect(await tokenStatus(NODE, tokenIn(url))).toMatchObject({ status: 200, body: { valid: true, readOnly: true } });
    for (let i = 0; i < 100 && proxy.sessionCount() > 0; i++) await new Promise((r) => setTimeout(r, 20));
    await agent.stop(NODE);
    ironic.disable(NODE);
  });

  it("refuses a wrong token, another node's token, a disabled console, an unknown node and a console the agent does not run", async () => {
    const url = await enableConsole(NODE);
    const otherUrl = await enableConsole(OTHER);
    const disabledUrl = await enableConsole(THIRD);
    await agent.stop(THIRD);
    ironic.disable(THIRD);
    // Ironic says enabled, but the console is not one our agent started (or it died).
    ironic.enable('0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6');
    const notOurs = ironic.consoleUrl('0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6');
    const cases: Array<[string, number, RegExp]> = [
      [withToken(NODE, 'x'.repeat(43)), 403, /token unknown/],
      [withToken(NODE, `${tokenIn(url)}x`), 403, /token unknown/],
      [withToken(NODE, tokenIn(otherUrl)), 403, /token unknown/],
      [wsUrlOf(disabledUrl), 403, /token revoked/],
      [withToken('f0f0f0f0-0000-4000-8000-000000000000', tokenIn(url)), 403, /token unknown/],
      [wsUrlOf(notOurs), 403, /token revoked/],
    ];
    for (const [wsUrl, status, body] of cases) {
      const r = await upgrade(wsUrl);
      expect({ wsUrl, status: r.status, body: r.body }).toEqual({ wsUrl, status, body: expect.stringMatching(body) });
    }
    expect(await tokenStatus(OTHER, tokenIn(url))).toEqual({ status: 200, body: { valid: false, reason: 'unknown' } });
    expect(await tokenStatus(THIRD, tokenIn(disabledUrl))).toEqual({
      status: 200,
      body: { valid: false, reason: 'revoked' },
    });
    const ok = await upgrade(wsUrlOf(url));
    expect(ok.status).toBe(101);
    ok.ws?.close();
  });

  it('answers 503 while Ironic is unreachable or refuses the service account, and recovers', async () => {
    const url = ironic.consoleUrl(NODE);
    for (const mode of ['down', 'refuse-auth'] as const) {
      ironic.mode = mode;
      try {
        const r = await upgrade(wsUrlOf(url));
        expect({ mode, status: r.status, body: r.body }).toEqual({
          mode,
          status: 503,
          body: 'token service unavailable, try again\n',
        });
        expect(await tokenStatus(NODE, tokenIn(url))).toEqual({
          status: 503,
          body: { valid: null, reason: 'agent-unavailable' },
        });
      } finally {
        ironic.mode = 'ok';
      }
    }
    const text = logs.text();
    expect(text.includes("refused the proxy's service account (HTTP 401)")).toBe(true);
    expect(
      text.includes(`cannot reach Ironic at ${ironic.url}`) || text.includes(`the answer from Ironic at ${ironic.url}`),
    ).toBe(true);
    const r = await upgrade(wsUrlOf(url));
    expect(r.status).toBe(101);
    r.ws?.close();
  });

  it("closes a live session when Ironic's console is disabled or restarted with a new token (re-check)", async () => {
    const url = ironic.consoleUrl(NODE);
    const a = await upgrade(wsUrlOf(url));
    if (!a.ws) throw new Error(`upgrade refused: ${a.status} ${a.body}`);
    const aClosed = closed(a.ws);
    ironic.disable(NODE);
    expect(await aClosed).toEqual({ code: 4403, reason: 'console access was revoked' });

    const fresh = ironic.enable(NODE); // console enable again: a new token; the old one must stop working
    const b = await upgrade(wsUrlOf(fresh));
    if (!b.ws) throw new Error(`upgrade refused: ${b.status} ${b.body}`);
    const bClosed = closed(b.ws);
    ironic.enable(NODE);
    expect(await bClosed).toEqual({ code: 4403, reason: 'console access was revoked' });
  });

  it("never logs the service account's password, its basic-auth header or a console token", () => {
    expect(logs.lines.length).toBeGreaterThan(5);
    const all = logs.text();
    expect(all).not.toContain(SERVICE_PASSWORD);
    expect(all).not.toContain(Buffer.from(`${SERVICE_USER}:${SERVICE_PASSWORD}`).toString('base64'));
    for (const node of ironic.nodes.values()) if (node.token) expect(all).not.toContain(node.token);
    expect(provider.passwords.length).toBeGreaterThan(2);
    for (const pw of provider.passwords) expect(all).not.toContain(pw);
  });
});
