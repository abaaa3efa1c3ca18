import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { startApi } from '../src/api.js';
import { FakeProvider } from '../src/providers/fake.js';
import { appInfo, makeAgent, tokenOf } from './support/agent-fixture.js';
import { tempDir } from '@bmc-console/common/testing/temp-dir';

interface Answer {
  status: number;
  type: string;
  text: string;
}

/** One request to the agent API at `address` (`unix:/path` or `http://host:port`). */
function call(
  address: string,
  method: string,
  path: string,
  opts: { body?: unknown; key?: string } = {},
): Promise<Answer> {
  const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  const target = address.startsWith('unix:')
    ? { socketPath: address.slice(5) }
    : { hostname: new URL(address).hostname, port: Number(new URL(address).port) };
  const headers: Record<string, string> = { host: 'localhost' };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  if (body !== undefined)
    Object.assign(headers, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
  return new Promise((resolve, reject) => {
    const req = request({ ...target, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), text }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The value of one sample in Prometheus text, e.g. sample(text, 'bmc_agent_tokens_refused_total{reason="unknown"}'). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('agent /metrics on a TCP listener (API key required)', () => {
  let app: FastifyInstance;
  let base: string;
  let key: string;
  let fake: FakeProvider;
  beforeAll(async () => {
    fake = new FakeProvider();
    const made = await makeAgent({ api_listen: 'tcp://127.0.0.1:0' }, fake);
    ({ app, address: base } = await startApi(made.agent));
    key = readFileSync(made.config.api_key_file, 'utf8').trim();
  });
  afterAll(() => app.close());

  it('refuses a scrape without the API key (401), like every other route', async () => {
    expect((await call(base, 'GET', '/metrics')).status).toBe(401);
    expect((await call(base, 'GET', '/metrics', { key: 'A'.repeat(43) })).status).toBe(401);
  });

  it('counts consoles by state, starts, failures, stops, tokens by outcome and API requests by route and status', async () => {
    const node = '7b0c3c1e-5d7e-4b34-9f53-4ac0a1f0e001';
    const started = await call(base, 'POST', '/v1/consoles', { key, body: { node, appInfo: appInfo() } });
    expect(started.status).toBe(201);
    const token = tokenOf((JSON.parse(started.text) as { url: string }).url);
    expect((await call(base, 'POST', `/v1/consoles/${node}/urls`, { key })).status).toBe(201);
    expect((await call(base, 'POST', '/v1/tokens/verify', { key, body: { node, token } })).status).toBe(200);
    expect((await call(base, 'POST', '/v1/tokens/verify', { key, body: { node, token: 'x'.repeat(43) } })).status).toBe(
      403,
    );
    expect((await call(base, 'POST', '/v1/tokens/verify', { key, body: { node: 'other-node', token } })).status).toBe(
      403,
    );
    // A start without APP_INFO's address is refused before any provider call.
    expect((await call(base, 'POST', '/v1/consoles', { key, body: { node: 'bad-start', appInfo: {} } })).status).toBe(
      400,
    );

    let m = await call(base, 'GET', '/metrics', { key });
    expect(m.status).toBe(200);
    expect(m.type).toContain('text/plain');
    expect(sample(m.text, 'bmc_agent_consoles{state="running"}')).toBe(1);
    expect(sample(m.text, 'bmc_agent_consoles{state="died"}')).toBe(0);
    expect(sample(m.text, 'bmc_agent_console_starts_total')).toBe(1);
    expect(sample(m.text, 'bmc_agent_console_start_failures_total{kind="invalid"}')).toBe(1);
    expect(sample(m.text, 'bmc_agent_tokens_issued_total')).toBe(2);
    expect(sample(m.text, 'bmc_agent_tokens_verified_total')).toBe(1);
    expect(sample(m.text, 'bmc_agent_tokens_refused_total{reason="unknown"}')).toBe(1);
    expect(sample(m.text, 'bmc_agent_tokens_refused_total{reason="wrong-node"}')).toBe(1);
    expect(sample(m.text, 'bmc_agent_api_requests_total{method="POST",route="/v1/consoles",status="201"}')).toBe(1);
    expect(sample(m.text, 'bmc_agent_api_requests_total{method="POST",route="/v1/consoles",status="400"}')).toBe(1);
    expect(
      sample(m.text, 'bmc_agent_api_requests_total{method="POST",route="/v1/consoles/:node/urls",status="201"}'),
    ).toBe(1);
    expect(sample(m.text, 'bmc_agent_api_requests_total{method="POST",route="/v1/tokens/verify",status="403"}')).toBe(
      2,
    );
    expect(sample(m.text, 'bmc_agent_api_requests_total{method="GET",route="/metrics",status="401"}')).toBe(2);
    expect(m.text).toContain('bmc_agent_info{version="0.1.0",provider="fake"} 1');
    // Node ids never become label values (one series per route pattern, not per node).
    expect(m.text).not.toContain(`route="/v1/consoles/${node}`);

    // The container dies behind the agent's back: reconcile counts it, then a new start and a stop.
    await fake.stop(node);
    expect((await call(base, 'POST', '/v1/reconcile', { key })).status).toBe(200);
    expect((await call(base, 'POST', '/v1/consoles', { key, body: { node, appInfo: appInfo() } })).status).toBe(201);
    expect((await call(base, 'DELETE', `/v1/consoles/${node}`, { key })).status).toBe(200);
    m = await call(base, 'GET', '/metrics', { key });
    expect(sample(m.text, 'bmc_agent_console_stops_total{cause="died"}')).toBe(1);
    expect(sample(m.text, 'bmc_agent_console_stops_total{cause="stop"}')).toBe(1);
    expect(sample(m.text, 'bmc_agent_console_starts_total')).toBe(2);
    expect(sample(m.text, 'bmc_agent_consoles{state="running"}')).toBe(0);
  });

  it("keeps prom-client's default process metrics under their standard names (process_*, nodejs_*)", async () => {
    const m = await call(base, 'GET', '/metrics', { key });
    expect(m.text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(m.text).toMatch(/^process_resident_memory_bytes \d/m);
    expect(m.text).toMatch(/^nodejs_heap_size_used_bytes \d/m);
    expect(m.text).not.toMatch(/^bmc_agent_(process|nodejs)_/m);
  });
});

describe('agent /metrics on the default unix socket', () => {
  it('answers a scrape over the socket without a key (the socket mode is the credential)', async () => {
    const dir = tempDir('agent-metrics-');
    const made = await makeAgent({ api_listen: `unix:${join(dir, 'agent.sock')}` });
    const { app, address } = await startApi(made.agent);
    try {
      const m = await call(address, 'GET', '/metrics');
      expect(m.status).toBe(200);
      expect(sample(m.text, 'bmc_agent_consoles{state="running"}')).toBe(0);
    } finally {
      await app.close();
    }
  });
});
