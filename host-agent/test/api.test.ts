import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import selfsigned from 'selfsigned';
import { defaultAgentSocket } from '@bmc-console/common/agent-paths';
import { startApi } from '../src/api.js';
import { openApiDocument } from '../src/openapi.js';
import { FakeProvider } from '../src/providers/fake.js';
import { appInfo, makeAgent, tokenOf } from './support/agent-fixture.js';
import { tempDir } from '@bmc-console/common/testing/temp-dir';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

/** One request to the API at `address` (`unix:/path` or `http(s)://host:port`), with raw control of the headers. */
function call(
  address: string,
  method: string,
  path: string,
  opts: { body?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const unix = address.startsWith('unix:');
    const u = unix ? undefined : new URL(address);
    const target = unix ? { socketPath: address.slice(5) } : { hostname: u!.hostname, port: Number(u!.port) };
    const send = u?.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      {
        ...target,
        method,
        path,
        rejectUnauthorized: false,
        headers: {
          ...(opts.body !== undefined ? { 'content-length': String(Buffer.byteLength(opts.body)) } : {}),
          ...opts.headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('agent HTTP API over TCP (fake provider)', () => {
  let app: FastifyInstance;
  let base: string;
  let key: string;
  let keyFile: string;
  let fake: FakeProvider;
  let stateDir: string;
  beforeAll(async () => {
    fake = new FakeProvider();
    const made = await makeAgent(
      { public_url: 'https://console.example.com/view', api_listen: 'tcp://127.0.0.1:0' },
      fake,
    );
    stateDir = made.stateDir;
    ({ app, address: base } = await startApi(made.agent));
    keyFile = made.config.api_key_file;
    key = readFileSync(keyFile, 'utf8').trim();
  });
  afterAll(() => app.close());

  const json = async (method: string, path: string, body?: unknown) => {
    const r = await call(base, method, path, {
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      headers: {
        authorization: `Bearer ${key}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
    });
    return { status: r.status, body: r.body };
  };

  it('creates its API key on first start: 32 random bytes, base64url, mode 0600 in the state dir, and reuses it', async () => {
    expect(keyFile).toBe(join(stateDir, 'api.key'));
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const again = await startApi((await makeAgent({ state_dir: stateDir, api_listen: 'tcp://127.0.0.1:0' })).agent);
    try {
      expect(readFileSync(keyFile, 'utf8').trim()).toBe(key);
      expect(
        (await call(again.address, 'GET', '/healthz', { headers: { authorization: `Bearer ${key}` } })).status,
      ).toBe(200);
    } finally {
      await again.app.close();
    }
  });

  it('answers 401 with a JSON error to requests without the key or with a wrong one, /healthz included', async () => {
    const attempts: Record<string, string>[] = [
      {},
      { authorization: `Bearer ${'A'.repeat(43)}` },
      { authorization: `Basic ${key}` },
      { authorization: `Bearer ${key}x` },
    ];
    for (const headers of attempts) {
      for (const path of ['/v1/consoles', '/healthz', '/openapi.json']) {
        const r = await call(base, 'GET', path, { headers });
        expect(r.status).toBe(401);
        expect(r.headers['www-authenticate']).toBe('Bearer');
        expect(r.body).toEqual({ error: { kind: 'unauthorized', message: expect.stringContaining('API key') } });
      }
    }
    const verify = await call(base, 'POST', '/v1/tokens/verify', {
      body: JSON.stringify({ node: 'n', token: 't' }),
      headers: { 'content-type': 'application/json' },
    });
    expect(verify.status).toBe(401);
    expect(JSON.stringify(verify.body)).not.toContain(key);
  });

  it('refuses bodies that are not application/json (415), so a text/plain form POST cannot start or mint anything', async () => {
    const body = JSON.stringify({ node: 'api-tp', appInfo: appInfo() });
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const r = await call(base, 'POST', '/v1/consoles', {
        body,
        headers: { authorization: `Bearer ${key}`, 'content-type': type },
      });
      expect(r.status).toBe(415);
      expect(r.body.error).toMatchObject({ kind: 'invalid', message: 'request bodies must be application/json' });
    }
    expect(
      (await call(base, 'POST', '/v1/consoles', { body, headers: { authorization: `Bearer ${key}` } })).status,
    ).toBe(415);
    expect(fake.lastRequest('api-tp')).toBeUndefined();
  });

  it('refuses a foreign Host header (DNS rebinding) and accepts loopback names', async () => {
    const port = new URL(base).port;
    const auth = { authorization: `Bearer ${key}` };
    for (const host of ['evil.example', `evil.example:${port}`, `127.0.0.1.evil.example:${port}`]) {
      const r = await call(base, 'GET', '/v1/consoles', { headers: { ...auth, host } });
      expect(r.status).toBe(421);
      expect(r.body.error).toMatchObject({ kind: 'invalid', message: expect.stringContaining('Host') });
    }
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, 'localhost'])
      expect((await call(base, 'GET', '/v1/consoles', { headers: { ...auth, host } })).status).toBe(200);
  });

  it('serves its OpenAPI description (with the security scheme), identical to docs/agent-api.json', async () => {
    const r = await json('GET', '/openapi.json');
    expect(r.status).toBe(200);
    expect(r.body).toEqual(JSON.parse(JSON.stringify(openApiDocument)));
    expect(r.body).toMatchObject({
      security: [{ apiKey: [] }],
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
    });
    const copy = JSON.parse(
      readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'agent-api.json'), 'utf8'),
    ) as unknown;
    expect(copy).toEqual(r.body);
  });

  it('starts, lists, issues URLs, verifies for the proxy and stops', async () => {
    const started = await json('POST', '/v1/consoles', { node: 'api-1', appInfo: appInfo(), readOnly: true });
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({ node: 'api-1', host: '192.0.2.1', port: 5900 });
    expect(Object.keys(started.body).sort()).toEqual(['expiresAt', 'host', 'mode', 'node', 'port', 'url']);
    expect(String(started.body.url)).toMatch(
      /^https:\/\/console\.example\.com\/view\?path=websockify%3Fnode%3Dapi-1%26token%3D/,
    );
    expect(JSON.stringify(started.body)).not.toContain('p\'"');

    const list = await json('GET', '/v1/consoles');
    expect(list.body.consoles).toEqual([
      expect.objectContaining({ node: 'api-1', status: 'running', readOnly: true, validTokens: 1 }),
    ]);
    expect(JSON.stringify(list.body)).not.toMatch(/vncPassword|password/);
    expect((await json('GET', '/v1/consoles/api-1')).body).toMatchObject({ node: 'api-1' });

    const url = await json('POST', '/v1/consoles/api-1/urls');
    expect(url.status).toBe(201);
    // No body: a control link without a name, as before links had claims.
    expect(Object.keys(url.body).sort()).toEqual(['exclusive', 'expiresAt', 'node', 'role', 'url']);
    expect(url.body).toMatchObject({ node: 'api-1', role: 'control', exclusive: false });
    const token = tokenOf(String(url.body.url));

    const ok = await json('POST', '/v1/tokens/verify', { node: 'api-1', token });
    expect(ok.status).toBe(200);
    expect(Object.keys(ok.body).sort()).toEqual([
      'exclusive',
      'expiresAt',
      'host',
      'node',
      'port',
      'readOnly',
      'record',
      'role',
      'vncPassword',
    ]);
    expect(ok.body).toMatchObject({
      node: 'api-1',
      host: '192.0.2.1',
      port: 5900,
      readOnly: true,
      role: 'control',
      exclusive: false,
      record: false,
    });
    // The URL from start (Ironic's) is the same kind of link.
    expect(
      (await json('POST', '/v1/tokens/verify', { node: 'api-1', token: tokenOf(String(started.body.url)) })).body,
    ).toMatchObject({ role: 'control', exclusive: false, record: false });
    expect(String(ok.body.vncPassword)).toHaveLength(8);
    expect(new Date(String(ok.body.expiresAt)).toISOString()).toBe(ok.body.expiresAt);

    expect(await json('POST', '/v1/tokens/verify', { node: 'api-2', token })).toEqual({
      status: 403,
      body: { reason: 'wrong-node' },
    });
    expect(await json('POST', '/v1/tokens/verify', { node: 'api-1', token: 'x'.repeat(43) })).toEqual({
      status: 403,
      body: { reason: 'unknown' },
    });
    expect((await json('POST', '/v1/tokens/verify', { node: 'api-1' })).status).toBe(400);

    expect(await json('DELETE', '/v1/consoles/api-1')).toEqual({
      status: 200,
      body: { node: 'api-1', wasRunning: true },
    });
    expect(await json('POST', '/v1/tokens/verify', { node: 'api-1', token })).toEqual({
      status: 403,
      body: { reason: 'revoked' },
    });
  });

  it('starts a console without a VNC password when the body says vncPassword: false', async () => {
    const started = await json('POST', '/v1/consoles', { node: 'api-nopw', appInfo: appInfo(), vncPassword: false });
    expect(started.status).toBe(201);
    expect(fake.lastRequest('api-nopw')?.vncPassword).toBeUndefined();
    const ok = await json('POST', '/v1/tokens/verify', { node: 'api-nopw', token: tokenOf(String(started.body.url)) });
    expect(ok.status).toBe(200);
    expect(ok.body.vncPassword).toBeUndefined();
    await json('POST', '/v1/consoles', { node: 'api-pw', appInfo: appInfo() });
    expect(fake.lastRequest('api-pw')?.vncPassword).toMatch(/^[\x21-\x7e]{8}$/);
    expect(
      (await json('POST', '/v1/consoles', { node: 'api-pw2', appInfo: appInfo(), vncPassword: 'yes' })).body.error,
    ).toMatchObject({ kind: 'invalid', message: expect.stringContaining('vncPassword') });
    await json('DELETE', '/v1/consoles');
  });

  it('issues per-viewer links: role, user and exclusive go with the token and come back from verify', async () => {
    await json('POST', '/v1/consoles', { node: 'api-cl', appInfo: appInfo(), record: true });
    const view = await json('POST', '/v1/consoles/api-cl/urls', { viewOnly: true, user: 'alice' });
    expect(view.status).toBe(201);
    expect(view.body).toMatchObject({ node: 'api-cl', role: 'view', user: 'alice', exclusive: false });
    const control = await json('POST', '/v1/consoles/api-cl/urls', { user: 'bob@example.com', exclusive: true });
    expect(control.body).toMatchObject({ role: 'control', user: 'bob@example.com', exclusive: true });
    expect((await json('POST', '/v1/consoles/api-cl/urls', {})).body).toMatchObject({
      role: 'control',
      exclusive: false,
    });
    const verify = async (url: unknown) =>
      (await json('POST', '/v1/tokens/verify', { node: 'api-cl', token: tokenOf(String(url)) })).body;
    expect(await verify(view.body.url)).toMatchObject({ role: 'view', user: 'alice', exclusive: false, record: true });
    expect(await verify(control.body.url)).toMatchObject({ role: 'control', user: 'bob@example.com', exclusive: true });
    expect((await json('GET', '/v1/consoles/api-cl')).body).toMatchObject({ record: true, validTokens: 4 });
    expect((await json('POST', '/v1/consoles/api-cl/target')).body).toMatchObject({ record: true });
    await json('DELETE', '/v1/consoles/api-cl');
  });

  it('refuses a bad link request with 400 naming the field, and issues nothing', async () => {
    await json('POST', '/v1/consoles', { node: 'api-bad', appInfo: appInfo() });
    const bad = async (body: unknown) => {
      const r = await json('POST', '/v1/consoles/api-bad/urls', body);
      expect(r.status).toBe(400);
      return r.body.error as { kind: string; node?: string; message: string };
    };
    expect(await bad({ user: '../etc/passwd' })).toEqual({
      kind: 'invalid',
      node: 'api-bad',
      message: expect.stringMatching(/^user: expected a user name of 1 to 64 letters/),
    });
    expect((await bad({ user: '' })).message).toMatch(/^user: expected a user name/);
    expect((await bad({ user: 'x'.repeat(65) })).message).toMatch(/^user: expected a user name/);
    expect((await bad({ viewOnly: true, exclusive: true })).message).toBe(
      'exclusive: a view-only link cannot ask for exclusive control',
    );
    expect((await bad({ viewOnly: 'yes' })).message).toMatch(/^viewOnly: /);
    expect((await bad([])).message).toMatch(/^body: /);
    expect((await json('GET', '/v1/consoles/api-bad')).body).toMatchObject({ validTokens: 1 });
    // A bad node id is not echoed as the error's node.
    expect((await json('POST', '/v1/consoles/-x/urls', { user: '' })).body.error).not.toHaveProperty('node');
    await json('DELETE', '/v1/consoles/api-bad');
  });

  it('gives a proxy that checked the token elsewhere (Ironic) the target of a running console only', async () => {
    await json('POST', '/v1/consoles', { node: 'api-tg', appInfo: appInfo(), readOnly: true });
    const t = await json('POST', '/v1/consoles/api-tg/target');
    expect(t.status).toBe(200);
    expect(Object.keys(t.body).sort()).toEqual(['host', 'node', 'port', 'readOnly', 'record', 'vncPassword']);
    expect(t.body).toMatchObject({ node: 'api-tg', host: '192.0.2.1', port: 5900, readOnly: true, record: false });
    expect(t.body.vncPassword).toBe(fake.lastRequest('api-tg')?.vncPassword);
    await json('POST', '/v1/consoles', { node: 'api-tg2', appInfo: appInfo(), vncPassword: false });
    expect((await json('POST', '/v1/consoles/api-tg2/target')).body).toEqual({
      node: 'api-tg2',
      host: '192.0.2.1',
      port: 5900,
      readOnly: false,
      record: false,
    });
    expect(await json('POST', '/v1/consoles/api-none/target')).toEqual({
      status: 404,
      body: {
        error: { kind: 'not-found', node: 'api-none', message: 'node api-none: no console is running for this node' },
      },
    });
    expect((await json('POST', '/v1/consoles/-bad/target')).status).toBe(400);
    // Authenticated like everything else: without the key nothing, and certainly no password.
    const anon = await call(base, 'POST', '/v1/consoles/api-tg/target');
    expect(anon.status).toBe(401);
    expect(JSON.stringify(anon.body)).not.toContain(String(t.body.vncPassword));
    await json('DELETE', '/v1/consoles/api-tg');
    expect((await json('POST', '/v1/consoles/api-tg/target')).status).toBe(404);
    await json('DELETE', '/v1/consoles');
  });

  it('reports errors with the node and the cause', async () => {
    const bad = await json('POST', '/v1/consoles', { node: 'api-3', appInfo: { address: 'https://bmc' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ kind: 'invalid', node: 'api-3' });
    expect(String((bad.body.error as { message: string }).message)).toMatch(
      /^node api-3: appInfo\.username: .*appInfo\.password: /,
    );
    const missing = await json('GET', '/v1/consoles/api-9');
    expect(missing).toEqual({
      status: 404,
      body: { error: { kind: 'not-found', node: 'api-9', message: 'node api-9: no console is running for this node' } },
    });
    expect((await json('POST', '/v1/consoles/api-9/urls')).status).toBe(404);
    expect((await json('POST', '/v1/consoles', { appInfo: {} })).body.error).toMatchObject({
      kind: 'invalid',
      message: expect.stringContaining('node:'),
    });
  });

  it('stops all and reconciles', async () => {
    await json('POST', '/v1/consoles', { node: 'api-4', appInfo: appInfo() });
    expect(await json('DELETE', '/v1/consoles')).toEqual({ status: 200, body: { stopped: ['api-4'] } });
    expect(await json('POST', '/v1/reconcile')).toEqual({ status: 200, body: { died: [], stoppedUnknown: [] } });
  });
});

describe('agent HTTP API on a unix socket', () => {
  it('defaults to the agent-paths socket; creates its directory 0750, the socket 0660: the file mode is the credential', async () => {
    const runtime = tempDir('agent-run-');
    const { config: defaults, stateDir } = await makeAgent();
    expect(defaults.api_listen).toBe(`unix:${defaultAgentSocket(stateDir)}`);
    expect(defaultAgentSocket('/s', {})).toBe(
      process.getuid?.() === 0 ? '/run/bmc-console-agent/agent.sock' : '/s/api/agent.sock',
    );
    if (process.getuid?.() !== 0)
      expect(defaultAgentSocket('/s', { XDG_RUNTIME_DIR: '/r' })).toBe('/r/bmc-console-agent/agent.sock');
    const socket = join(runtime, 'bmc-console-agent', 'agent.sock');
    const made = await makeAgent({ api_listen: `unix:${socket}` });
    const { app, address } = await startApi(made.agent);
    try {
      expect(address).toBe(`unix:${socket}`);
      expect(statSync(join(runtime, 'bmc-console-agent')).mode & 0o777).toBe(0o750);
      expect(statSync(socket).mode & 0o777).toBe(0o660);
      const started = await call(address, 'POST', '/v1/consoles', {
        body: JSON.stringify({ node: 'u1', appInfo: appInfo() }),
        headers: { 'content-type': 'application/json' },
      });
      expect(started.status).toBe(201);
      expect((await call(address, 'GET', '/healthz')).status).toBe(200);
      // The same guards as on TCP, minus the key.
      expect(
        (await call(address, 'POST', '/v1/consoles/u1/urls', { body: '{}', headers: { 'content-type': 'text/plain' } }))
          .status,
      ).toBe(415);
      expect((await call(address, 'GET', '/v1/consoles', { headers: { host: 'evil.example' } })).status).toBe(421);
      // requests-unixsocket style: the socket path, percent-encoded, as the Host.
      expect(
        (await call(address, 'GET', '/v1/consoles', { headers: { host: encodeURIComponent(socket) } })).status,
      ).toBe(200);
      // A second agent must not take over a socket that is being served.
      const second = await makeAgent({ api_listen: `unix:${socket}` });
      await expect(startApi(second.agent)).rejects.toThrow(/api_listen: another process already serves/);
      expect(made.config.api_key_file).toBe(join(made.stateDir, 'api.key'));
      expect(() => statSync(made.config.api_key_file)).toThrow(); // no key is needed, none is made
    } finally {
      await app.close();
    }
  });
});

describe('agent HTTP API over HTTPS', () => {
  it('serves TLS with api_tls_cert_file/api_tls_key_file and still needs the key', async () => {
    const dir = tempDir('agent-tls-');
    mkdirSync(join(dir, 'tls'));
    const pems = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
    });
    writeFileSync(join(dir, 'tls', 'cert.pem'), pems.cert);
    writeFileSync(join(dir, 'tls', 'key.pem'), pems.private, { mode: 0o600 });
    const { agent, config } = await makeAgent({
      api_listen: 'tcp://127.0.0.1:0',
      api_tls_cert_file: join(dir, 'tls', 'cert.pem'),
      api_tls_key_file: join(dir, 'tls', 'key.pem'),
    });
    const { app, address } = await startApi(agent);
    try {
      expect(address).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const key = readFileSync(config.api_key_file, 'utf8').trim();
      expect((await call(address, 'GET', '/healthz')).status).toBe(401);
      expect((await call(address, 'GET', '/healthz', { headers: { authorization: `Bearer ${key}` } })).status).toBe(
        200,
      );
    } finally {
      await app.close();
    }
  });
});
