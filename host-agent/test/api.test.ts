import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApi, listenApi } from '../src/api.js';
import { openApiDocument } from '../src/openapi.js';
import { appInfo, makeAgent, tokenOf } from './support/agent-fixture.js';

describe('agent HTTP API (fake provider)', () => {
  let app: FastifyInstance;
  let base: string;
  beforeAll(async () => {
    const { agent } = await makeAgent({ public_url: 'https://console.example.com/view' });
    app = buildApi(agent);
    base = await listenApi(app, { host: '127.0.0.1', port: 0 });
  });
  afterAll(() => app.close());

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, { method, ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('serves its OpenAPI description, identical to docs/agent-api.json', async () => {
    const r = await call('GET', '/openapi.json');
    expect(r.status).toBe(200);
    expect(r.body).toEqual(JSON.parse(JSON.stringify(openApiDocument)));
    const copy = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'agent-api.json'), 'utf8')) as unknown;
    expect(copy).toEqual(r.body);
  });

  it('starts, lists, issues URLs, verifies for the proxy and stops', async () => {
    const started = await call('POST', '/v1/consoles', { node: 'api-1', appInfo: appInfo(), readOnly: true });
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({ node: 'api-1', host: '192.0.2.1', port: 5900 });
    expect(String(started.body.url)).toMatch(/^https:\/\/console\.example\.com\/view\?path=websockify%3Fnode%3Dapi-1%26token%3D/);
    expect(JSON.stringify(started.body)).not.toContain('p\'"');

    const list = await call('GET', '/v1/consoles');
    expect(list.body.consoles).toEqual([expect.objectContaining({ node: 'api-1', status: 'running', readOnly: true, validTokens: 1 })]);
    expect(JSON.stringify(list.body)).not.toMatch(/vncPassword|password/);
    expect((await call('GET', '/v1/consoles/api-1')).body).toMatchObject({ node: 'api-1' });

    const url = await call('POST', '/v1/consoles/api-1/urls');
    expect(url.status).toBe(201);
    const token = tokenOf(String(url.body.url));

    const ok = await call('POST', '/v1/tokens/verify', { node: 'api-1', token });
    expect(ok.status).toBe(200);
    expect(Object.keys(ok.body).sort()).toEqual(['expiresAt', 'host', 'node', 'port', 'readOnly', 'vncPassword']);
    expect(ok.body).toMatchObject({ node: 'api-1', host: '192.0.2.1', port: 5900, readOnly: true });
    expect(String(ok.body.vncPassword)).toHaveLength(8);
    expect(new Date(String(ok.body.expiresAt)).toISOString()).toBe(ok.body.expiresAt);

    expect(await call('POST', '/v1/tokens/verify', { node: 'api-2', token })).toEqual({ status: 403, body: { reason: 'wrong-node' } });
    expect(await call('POST', '/v1/tokens/verify', { node: 'api-1', token: 'x'.repeat(43) })).toEqual({ status: 403, body: { reason: 'unknown' } });
    expect((await call('POST', '/v1/tokens/verify', { node: 'api-1' })).status).toBe(400);

    expect(await call('DELETE', '/v1/consoles/api-1')).toEqual({ status: 200, body: { node: 'api-1', wasRunning: true } });
    expect(await call('POST', '/v1/tokens/verify', { node: 'api-1', token })).toEqual({ status: 403, body: { reason: 'revoked' } });
  });

  it('reports errors with the node and the cause', async () => {
    const bad = await call('POST', '/v1/consoles', { node: 'api-3', appInfo: { address: 'https://bmc' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ kind: 'invalid', node: 'api-3' });
    expect(String((bad.body.error as { message: string }).message)).toMatch(/^node api-3: appInfo\.username: .*appInfo\.password: /);
    const missing = await call('GET', '/v1/consoles/api-9');
    expect(missing).toEqual({ status: 404, body: { error: { kind: 'not-found', node: 'api-9', message: 'node api-9: no console is running for this node' } } });
    expect((await call('POST', '/v1/consoles/api-9/urls')).status).toBe(404);
    expect((await call('POST', '/v1/consoles', { appInfo: {} })).body.error).toMatchObject({ kind: 'invalid', message: expect.stringContaining('node:') });
  });

  it('stops all and reconciles', async () => {
    await call('POST', '/v1/consoles', { node: 'api-4', appInfo: appInfo() });
    expect(await call('DELETE', '/v1/consoles')).toEqual({ status: 200, body: { stopped: ['api-4'] } });
    expect(await call('POST', '/v1/reconcile')).toEqual({ status: 200, body: { died: [], stoppedUnknown: [] } });
  });
});
