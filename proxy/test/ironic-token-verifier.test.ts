// The pieces of tokenSource "ironic" without X: Ironic's console URL parsing, the constant-time compare, expiry from
// the first sighting, the Ironic client against a fake Ironic API (noauth, https with a CA file, retries, contract
// errors), the agent target client, and the config and CLI checks that name the field.
import { writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import selfsigned from 'selfsigned';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentConsoleTarget, ConsoleTargetSource } from '../src/agent-target.js';
import { AgentTargetClient } from '../src/agent-target.js';
import { configFromFlags, main } from '../src/cli.js';
import { parseProxyConfig } from '../src/config.js';
import { IronicClient, type IronicConsoleState } from '../src/ironic-client.js';
import {
  IronicTokenVerifier,
  sameToken,
  tokenOfConsoleUrl,
  TokenServiceUnavailableError,
  type IronicConsoleSource,
} from '../src/ironic-token-verifier.js';
import { startFakeAgent } from './fake-agent.js';
import { startFakeIronic } from './fake-ironic.js';
import { tempDir } from '@bmc-console/common/testing/temp-dir';

const NODE = '1be26c0b-03f2-4d2e-ae87-c02d7f33c123';
const TOKEN = 'q0W8ZpWbQm6eMkwyVvXkZfJ3hR4Yw1a2b3c4d5e6f7g';
const ironicUrl = (node: string, token: string, base = 'https://proxy.example.org:6090/') =>
  `${base}?path=${encodeURIComponent(`websockify?node=${node}&token=${token}`)}`;

const closers: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

describe("Ironic's console URLs and tokens", () => {
  it('takes node and token from the URL Ironic builds (public_url with or without a path)', () => {
    expect(tokenOfConsoleUrl(ironicUrl(NODE, TOKEN))).toEqual({ node: NODE, token: TOKEN });
    expect(tokenOfConsoleUrl(ironicUrl(NODE, TOKEN, 'http://10.0.0.1:6090/vnc_auto.html'))).toEqual({
      node: NODE,
      token: TOKEN,
    });
    // Ironic writes "None" when the token is missing; other console types have no path at all.
    expect(tokenOfConsoleUrl(ironicUrl(NODE, 'None'))).toBeUndefined();
    expect(tokenOfConsoleUrl('http://10.0.0.1:8023')).toBeUndefined();
    expect(tokenOfConsoleUrl(`http://x/?path=${encodeURIComponent('websockify?node=n')}`)).toBeUndefined();
    expect(tokenOfConsoleUrl('::not a url::')).toBeUndefined();
  });

  it('compares tokens of any length in constant time', () => {
    expect(sameToken(TOKEN, TOKEN)).toBe(true);
    expect(sameToken(TOKEN, `${TOKEN}x`)).toBe(false);
    expect(sameToken(TOKEN, TOKEN.slice(0, -1))).toBe(false);
    expect(sameToken('', '')).toBe(true);
  });
});

describe('IronicTokenVerifier (stand-ins for Ironic and the agent)', () => {
  const target: AgentConsoleTarget = {
    node: NODE,
    console: { kind: 'rfb', host: '127.0.0.1', port: 5901, vncPassword: 'pw123456' },
    readOnly: false,
    record: true,
  };
  function make(state: () => IronicConsoleState | Error, opts: { agentRunsIt?: boolean } = {}) {
    const t = opts.agentRunsIt === false ? undefined : target;
    let now = Date.parse('2026-01-01T00:00:00Z');
    const calls = { ironic: 0, agent: 0 };
    const ironic: IronicConsoleSource = {
      consoleState: async () => {
        calls.ironic++;
        const s = state();
        if (s instanceof Error) throw s;
        return s;
      },
      close: () => {},
    };
    const targets: ConsoleTargetSource = { target: async () => (calls.agent++, t), close: () => {} };
    const v = new IronicTokenVerifier(ironic, targets, { tokenTimeoutSec: 600, now: () => now });
    return { v, calls, advance: (ms: number) => (now += ms), now: () => now };
  }

  it('accepts the token of an enabled console and bounds it by token_timeout from its first sighting', async () => {
    let token = TOKEN;
    const { v, calls, advance, now } = make(() => ({ found: true, consoleEnabled: true, url: ironicUrl(NODE, token) }));
    const first = await v.verify(NODE, TOKEN);
    // Ironic's links name nobody and ask for nothing: control, no user, not exclusive; record as the agent says.
    expect(first).toEqual({
      ok: true,
      target: { ...target, role: 'control', user: null, exclusive: false, expiresAt: new Date(now() + 600_000) },
    });
    advance(599_000);
    const later = await v.verify(NODE, TOKEN);
    expect(later.ok && later.target.expiresAt.getTime()).toBe(now() + 1000); // the same expiry, not a new window
    advance(1000);
    expect(await v.verify(NODE, TOKEN)).toEqual({ ok: false, reason: 'expired' });
    // console disable + enable: a new token, a new window; the agent is not asked for expired or unknown tokens.
    token = 'N3wT0ken-after-restart_abcdefghijklmnopqrstu';
    const agentCalls = calls.agent;
    expect(await v.verify(NODE, TOKEN)).toEqual({ ok: false, reason: 'unknown' });
    expect(calls.agent).toBe(agentCalls);
    expect((await v.verify(NODE, token)).ok).toBe(true);
  });

  it('refuses unknown nodes, disabled consoles, wrong tokens, URLs of another node and consoles the agent does not run', async () => {
    expect(await make(() => ({ found: false })).v.verify(NODE, TOKEN)).toEqual({ ok: false, reason: 'unknown' });
    expect(await make(() => ({ found: true, consoleEnabled: false, url: undefined })).v.verify(NODE, TOKEN)).toEqual({
      ok: false,
      reason: 'revoked',
    });
    expect(await make(() => ({ found: true, consoleEnabled: true, url: undefined })).v.verify(NODE, TOKEN)).toEqual({
      ok: false,
      reason: 'unknown',
    });
    expect(
      await make(() => ({ found: true, consoleEnabled: true, url: ironicUrl(NODE, TOKEN) })).v.verify(
        NODE,
        `${TOKEN}A`,
      ),
    ).toEqual({ ok: false, reason: 'unknown' });
    expect(
      await make(() => ({ found: true, consoleEnabled: true, url: ironicUrl('other', TOKEN) })).v.verify(NODE, TOKEN),
    ).toEqual({ ok: false, reason: 'wrong-node' });
    expect(
      await make(() => ({ found: true, consoleEnabled: true, url: ironicUrl(NODE, TOKEN) }), {
        agentRunsIt: false,
      }).v.verify(NODE, TOKEN),
    ).toEqual({ ok: false, reason: 'revoked' });
  });

  it('throws "unavailable" when Ironic cannot be asked, and shares one round trip among viewers opening at once', async () => {
    await expect(
      make(() => new Error('cannot reach Ironic at http://x: ECONNREFUSED')).v.verify(NODE, TOKEN),
    ).rejects.toBeInstanceOf(TokenServiceUnavailableError);
    const { v, calls } = make(() => ({ found: true, consoleEnabled: true, url: ironicUrl(NODE, TOKEN) }));
    await Promise.all(Array.from({ length: 5 }, () => v.verify(NODE, TOKEN)));
    expect(calls).toEqual({ ironic: 1, agent: 1 });
  });
});

describe('IronicClient (fake Ironic API)', () => {
  const base = { authStrategy: 'noauth' as const, timeoutMs: 2000, tokenTimeoutSec: 600 };

  it('noauth: sends no credentials, the microversion header, and reads enabled, disabled and unknown nodes', async () => {
    const ironic = await startFakeIronic();
    closers.push(() => ironic.close());
    const client = new IronicClient({ ...base, url: ironic.url });
    closers.push(() => client.close());
    const url = ironic.enable(NODE);
    expect(await client.consoleState(NODE)).toEqual({ found: true, consoleEnabled: true, url });
    ironic.disable(NODE);
    expect(await client.consoleState(NODE)).toEqual({ found: true, consoleEnabled: false, url: undefined });
    expect(await client.consoleState('unknown-node')).toEqual({ found: false });
    expect(
      ironic.requests.every(
        (r) => r.headers.authorization === undefined && r.headers['x-openstack-ironic-api-version'] === '1.1',
      ),
    ).toBe(true);
  });

  it('asks again after a dropped connection, but not after a refusal', async () => {
    const ironic = await startFakeIronic();
    closers.push(() => ironic.close());
    const client = new IronicClient({ ...base, url: ironic.url }, {}, [50]);
    closers.push(() => client.close());
    ironic.enable(NODE);
    ironic.mode = 'down';
    setTimeout(() => (ironic.mode = 'ok'), 20);
    expect(await client.consoleState(NODE)).toMatchObject({ found: true, consoleEnabled: true });
    ironic.mode = 'refuse-auth';
    const before = ironic.requests.length;
    await expect(client.consoleState(NODE)).rejects.toThrow(/refused the proxy's service account \(HTTP 401\)/);
    expect(ironic.requests.length - before).toBe(1);
  });

  it('speaks https with ironic.caFile, and an answer outside the contract names the fields, not the values', async () => {
    const dir = tempDir('proxy-ironic-tls-');
    const pems = await selfsigned.generate([{ name: 'commonName', value: '127.0.0.1' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
    });
    writeFileSync(join(dir, 'ca.pem'), pems.cert);
    let answer: unknown = { console_enabled: true, console_info: { type: 'vnc', url: ironicUrl(NODE, TOKEN) } };
    const server: Server = createHttpsServer({ cert: pems.cert, key: pems.private }, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise((r) => (server.closeAllConnections(), server.close(r))));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const client = IronicClient.fromConfig({ ...base, url, caFile: join(dir, 'ca.pem') });
    closers.push(() => client.close());
    expect(await client.consoleState(NODE)).toEqual({ found: true, consoleEnabled: true, url: ironicUrl(NODE, TOKEN) });
    answer = { console_enabled: 'yes', console_info: { url: TOKEN } };
    const err = await client.consoleState(NODE).catch((e: Error) => e);
    expect(String(err)).toMatch(/outside its contract \(console_enabled\)/);
    expect(String(err)).not.toContain(TOKEN);
    // Without the CA file the certificate is refused.
    const strict = new IronicClient({ ...base, url }, {}, []);
    closers.push(() => strict.close());
    await expect(strict.consoleState(NODE)).rejects.toThrow(
      /cannot reach Ironic at https:\/\/127\.0\.0\.1:\d+: self-signed certificate/,
    );
  });
});

describe('AgentTargetClient (fake agent)', () => {
  it('sends the API key and maps 404 to "no console"', async () => {
    const agent = await startFakeAgent({ tcpApiKey: 'k'.repeat(43) });
    closers.push(() => agent.close());
    const ok = new AgentTargetClient(agent.url, { timeoutMs: 2000, apiKey: 'k'.repeat(43), retryDelaysMs: [] });
    closers.push(() => ok.close());
    // The fake agent has no target endpoint: 404, i.e. no console.
    expect(await ok.target(NODE)).toBeUndefined();
    const wrongKey = new AgentTargetClient(agent.url, { timeoutMs: 2000, apiKey: 'x'.repeat(43), retryDelaysMs: [] });
    closers.push(() => wrongKey.close());
    await expect(wrongKey.target(NODE)).rejects.toThrow(/the agent at http:\/\/127\.0\.0\.1:\d+ refused the API key/);
  });
});

describe('proxy config for Ironic tokens', () => {
  const problems = (input: unknown) => {
    try {
      parseProxyConfig(input);
      return '';
    } catch (e) {
      return (e as Error).message;
    }
  };

  it('defaults to the agent; with "ironic" it fills the Ironic defaults', () => {
    expect(parseProxyConfig({}).tokenSource).toBe('agent');
    expect(parseProxyConfig({ tokenSource: 'ironic', ironic: { url: 'http://ironic:6385' } }).ironic).toEqual({
      url: 'http://ironic:6385',
      authStrategy: 'noauth',
      timeoutMs: 5000,
      tokenTimeoutSec: 600,
    });
  });

  it('names the field of each mistake', () => {
    expect(problems({ tokenSource: 'ironic' })).toMatch(/ironic\.url: required when tokenSource is "ironic"/);
    expect(problems({ tokenSource: 'keystone' })).toMatch(/tokenSource: /);
    expect(
      problems({ tokenSource: 'ironic', ironic: { url: 'http://ironic:6385', authStrategy: 'keystone' } }),
    ).toMatch(/ironic\.authStrategy: expected "noauth" or "http_basic" \(keystone is not supported\)/);
    const basic = problems({
      tokenSource: 'ironic',
      ironic: { url: 'http://ironic:6385', authStrategy: 'http_basic' },
    });
    expect(basic).toMatch(/ironic\.username: required with authStrategy http_basic/);
    expect(basic).toMatch(/ironic\.passwordFile: required with authStrategy http_basic/);
    expect(problems({ tokenSource: 'ironic', ironic: { url: 'http://svc:secret@ironic:6385' } })).toMatch(
      /ironic\.url: expected http\(s\):\/\/host/,
    );
    expect(problems({ tokenSource: 'ironic', ironic: { url: 'http://svc:secret@ironic:6385' } })).not.toContain(
      'secret',
    );
    expect(problems({ tokenSource: 'ironic', ironic: { url: 'ftp://ironic' } })).toMatch(/ironic\.url/);
    expect(problems({ tokenSource: 'ironic', ironic: { url: 'http://ironic', password: 'x' } })).toMatch(
      /ironic: Unrecognized key/,
    );
    expect(problems({ tokenSource: 'ironic', ironic: { url: 'http://ironic', tokenTimeoutSec: 5 } })).toMatch(
      /ironic\.tokenTimeoutSec/,
    );
  });

  it("maps the --ironic-* flags onto the ironic block, keeping the file's other keys", () => {
    const dir = tempDir('proxy-ironic-cfg-');
    writeFileSync(
      join(dir, 'proxy.yaml'),
      'tokenSource: ironic\nironic:\n  url: http://ironic:6385\n  timeoutMs: 900\n',
    );
    const cfg = parseProxyConfig(
      configFromFlags({
        config: join(dir, 'proxy.yaml'),
        ironicAuthStrategy: 'http_basic',
        ironicUsername: 'svc',
        ironicPasswordFile: '/etc/bmc-console/ironic-password',
        ironicCaFile: '/etc/ssl/ironic-ca.pem',
        ironicTokenTimeout: 300,
      }),
    );
    expect(cfg.tokenSource).toBe('ironic');
    expect(cfg.ironic).toEqual({
      url: 'http://ironic:6385',
      authStrategy: 'http_basic',
      username: 'svc',
      passwordFile: '/etc/bmc-console/ironic-password',
      caFile: '/etc/ssl/ironic-ca.pem',
      timeoutMs: 900,
      tokenTimeoutSec: 300,
    });
  });

  it('exits 2 naming ironic.passwordFile when it cannot be read', async () => {
    let err = '';
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array) => (
      (err += chunk.toString()), true
    )) as typeof process.stderr.write;
    try {
      const missing = join(tmpdir(), 'no-such-dir-bmc', 'ironic-password');
      const argv = [
        '--port',
        '0',
        '--token-source',
        'ironic',
        '--ironic-url',
        'http://127.0.0.1:9',
        '--ironic-auth-strategy',
        'http_basic',
        '--ironic-username',
        'svc',
        '--ironic-password-file',
        missing,
      ];
      expect(await main(argv)).toBe(2);
      expect(err).toContain(`ironic.passwordFile: cannot read ${missing} (ENOENT)`);
    } finally {
      process.stderr.write = write;
    }
  });
});
