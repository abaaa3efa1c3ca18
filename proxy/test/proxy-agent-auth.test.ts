// How the proxy reaches the agent: the real agent API on its default unix socket and on authenticated TCP, with no
// proxy options beyond the TCP URL; the key file's errors; and the per-source limit on failed token checks.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { createLogger } from '@bmc-console/common/log';
import { startApi } from '@bmc-console/host-agent/api';
import { loadConfig } from '@bmc-console/host-agent/config';
import { ConsoleAgent } from '@bmc-console/host-agent/console-agent';
import { parseProxyConfig } from '../src/config.js';
import { FailedTokenLimiter } from '../src/failed-token-limiter.js';
import { main } from '../src/cli.js';
import { startProxy, type RunningProxy } from '../src/server.js';
import { startFakeAgent } from './fake-agent.js';
import { tempDir } from '@bmc-console/common/testing/temp-dir';

const quiet = pino({ level: 'silent' });
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

const appInfo = { address: 'https://10.0.2.2:8443', username: 'root', password: 'calvin' };

async function tokenStatus(
  proxy: RunningProxy,
  node: string,
  token: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${proxy.url}/api/token-status`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ node, token }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const tokenOf = (url: string) =>
  new URLSearchParams(decodeURIComponent(new URL(url).searchParams.get('path') ?? '').split('?')[1]).get('token') ?? '';

/** A user that is not root, with its own runtime and state dirs: where both programs look by default. */
function asPlainUser(): void {
  const home = tempDir('proxy-agent-user-');
  vi.spyOn(process, 'getuid').mockReturnValue(4242);
  vi.stubEnv('XDG_RUNTIME_DIR', join(home, 'run'));
  vi.stubEnv('XDG_STATE_HOME', join(home, 'state'));
}

async function realAgent(overrides: Record<string, unknown> = {}) {
  const config = loadConfig({
    env: {},
    overrides: {
      container_provider: 'fake',
      agent_host: `proxy-test-${process.pid}`,
      reconcile_interval: 0,
      ...overrides,
    },
  });
  const agent = await ConsoleAgent.create(config, createLogger('agent', { level: 'silent' }));
  const api = await startApi(agent);
  closers.push(() => api.app.close());
  return { agent, config, address: api.address };
}

describe('the proxy finds the agent with no extra options', () => {
  it("defaults to the agent's default socket and key file", () => {
    asPlainUser();
    const proxyDefaults = parseProxyConfig({});
    const agentDefaults = loadConfig({ env: {} });
    expect(proxyDefaults.agentUrl).toBe(agentDefaults.api_listen);
    expect(proxyDefaults.agentApiKeyFile).toBe(agentDefaults.api_key_file);
    expect(proxyDefaults.agentUrl).toBe(
      `unix:${join(process.env.XDG_RUNTIME_DIR!, 'bmc-console-agent', 'agent.sock')}`,
    );
  });

  it('reaches an agent on its default unix socket', async () => {
    asPlainUser();
    const { agent, address } = await realAgent();
    expect(address).toBe(`unix:${join(process.env.XDG_RUNTIME_DIR!, 'bmc-console-agent', 'agent.sock')}`);
    const proxy = await startProxy({ port: 0 }, { logger: quiet });
    closers.push(() => proxy.close());
    const started = await agent.start({ node: 'sock-1', appInfo });
    expect(await tokenStatus(proxy, 'sock-1', tokenOf(started.url))).toMatchObject({
      status: 200,
      body: { valid: true, readOnly: false },
    });
  });

  it("reaches an agent on authenticated TCP, reading the key from the agent's default key file", async () => {
    asPlainUser();
    const { agent, config, address } = await realAgent({ api_listen: 'tcp://127.0.0.1:0' });
    expect(config.api_key_file).toBe(join(process.env.XDG_STATE_HOME!, 'bmc-console-agent', 'api.key'));
    const proxy = await startProxy({ port: 0, agentUrl: address }, { logger: quiet });
    closers.push(() => proxy.close());
    const started = await agent.start({ node: 'tcp-1', appInfo });
    expect(await tokenStatus(proxy, 'tcp-1', tokenOf(started.url))).toMatchObject({
      status: 200,
      body: { valid: true },
    });
    expect(await tokenStatus(proxy, 'tcp-1', 'x'.repeat(43))).toMatchObject({
      status: 200,
      body: { valid: false, reason: 'unknown' },
    });
  });
});

describe('the agent API key file', () => {
  it('is sent as a bearer token; a wrong key is agent trouble, not a bad token', async () => {
    const agent = await startFakeAgent({ tcpApiKey: 'k'.repeat(43) });
    closers.push(() => agent.close());
    const dir = tempDir('proxy-key-');
    writeFileSync(join(dir, 'right.key'), `${'k'.repeat(43)}\n`, { mode: 0o600 });
    writeFileSync(join(dir, 'wrong.key'), 'w'.repeat(43), { mode: 0o600 });
    const token = agent.issue({ node: 'n1', host: '127.0.0.1', port: 5900 });
    const right = await startProxy(
      { port: 0, agentUrl: agent.url, agentApiKeyFile: join(dir, 'right.key') },
      { logger: quiet },
    );
    const wrong = await startProxy(
      { port: 0, agentUrl: agent.url, agentApiKeyFile: join(dir, 'wrong.key') },
      { logger: quiet },
    );
    closers.push(
      () => right.close(),
      () => wrong.close(),
    );
    expect(await tokenStatus(right, 'n1', token)).toMatchObject({ status: 200, body: { valid: true } });
    expect(await tokenStatus(wrong, 'n1', token)).toEqual({
      status: 503,
      body: { valid: null, reason: 'agent-unavailable' },
    });
  });

  it('missing: a clear error naming agentApiKeyFile (startProxy and the CLI, exit 2), never for a unix agent', async () => {
    const missing = join(tempDir('proxy-key-'), 'api.key');
    await expect(
      startProxy({ port: 0, agentUrl: 'http://127.0.0.1:6091', agentApiKeyFile: missing }, { logger: quiet }),
    ).rejects.toThrow(new RegExp(`^agentApiKeyFile: cannot read the agent's API key from ${missing} \\(ENOENT\\)`));
    let err = '';
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array) => (
      (err += chunk.toString()), true
    )) as typeof process.stderr.write;
    try {
      expect(await main(['--port', '0', '--agent-url', 'http://127.0.0.1:6091', '--agent-api-key-file', missing])).toBe(
        2,
      );
    } finally {
      process.stderr.write = write;
    }
    expect(err).toContain('agentApiKeyFile: cannot read');
    const unix = await startProxy(
      { port: 0, agentUrl: 'unix:/nonexistent/agent.sock', agentApiKeyFile: missing },
      { logger: quiet },
    );
    await unix.close();
  });
});

describe('failed token checks are rate-limited per source address', () => {
  it('token bucket: a burst, then one more check per refill interval', () => {
    let now = 0;
    const l = new FailedTokenLimiter(3, 6, () => now); // 6 a minute: one every 10 s
    for (let i = 0; i < 3; i++) {
      expect(l.allowed('a')).toBe(true);
      l.failed('a');
    }
    expect(l.allowed('a')).toBe(false);
    expect(l.allowed('b')).toBe(true);
    now += 9_000;
    expect(l.allowed('a')).toBe(false);
    now += 1_000;
    expect(l.allowed('a')).toBe(true);
    l.failed('a');
    expect(l.allowed('a')).toBe(false);
    now += 10 * 60_000;
    expect(l.allowed('a')).toBe(true);
    const small = new FailedTokenLimiter(1, 1, () => now, 2);
    for (const s of ['x', 'y', 'z']) small.failed(s);
    expect(small.allowed('x')).toBe(true); // the oldest source was dropped to keep the table bounded
    expect(small.allowed('z')).toBe(false);
  });

  it('after the limit the upgrade is refused (429) without asking the agent; token-status says rate-limited; counted', async () => {
    const agent = await startFakeAgent();
    closers.push(() => agent.close());
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino(
      { level: 'info' },
      { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) },
    );
    const proxy = await startProxy(
      { port: 0, agentUrl: agent.url, limits: { failedTokenBurst: 3, failedTokenPerMinute: 1 } },
      { logger },
    );
    closers.push(() => proxy.close());
    const upgrade = (token: string) =>
      new Promise<{ status: number; body: string }>((resolve) => {
        const ws = new WebSocket(`${proxy.url.replace(/^http/, 'ws')}/websockify?node=n1&token=${token}`, {
          perMessageDeflate: false,
        });
        ws.on('open', () => (ws.close(), resolve({ status: 101, body: '' })));
        ws.on('unexpected-response', (_q, res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        ws.on('error', () => {});
      });
    const bad = 'b'.repeat(43);
    for (let i = 0; i < 3; i++) expect((await upgrade(bad)).status).toBe(403);
    const asked = agent.calls;
    const good = agent.issue({ node: 'n1', host: '127.0.0.1', port: 5900 });
    expect(await upgrade(good)).toEqual({
      status: 429,
      body: 'too many failed token checks from this address, try again later\n',
    });
    expect(await tokenStatus(proxy, 'n1', good)).toEqual({
      status: 429,
      body: { valid: null, reason: 'rate-limited' },
    });
    expect(agent.calls).toBe(asked);
    expect(await (await fetch(`${proxy.url}/metrics`)).text()).toMatch(
      /bmc_proxy_rejections_total\{reason="token-rate-limit"\} 2/,
    );
    // Rejections carry the token's fingerprint, never the token.
    expect(
      lines
        .filter((l) => l.event === 'session-rejected' && l.reason === 'token-unknown')
        .every((l) => /^[0-9a-f]{12}$/.test(String(l.tokenId))),
    ).toBe(true);
    expect(JSON.stringify(lines)).not.toContain(bad);
  });
});
