// TLS, plain-HTTP refusal, reverse-proxy trust, config validation and the CLI, with a fake agent.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { pino } from 'pino';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { configFromFlags, main } from '../src/cli.js';
import { parseProxyConfig } from '../src/config.js';
import { startProxy } from '../src/server.js';
import { AgentTokenVerifier } from '../src/token-verifier.js';
import { startFakeConsole } from './fake-console.js';
import { startFakeAgent, type FakeAgent } from './fake-agent.js';

const NODE = 'node-1';
let dir: string;
let certFile: string;
let keyFile: string;
let cert: string;
let agent: FakeAgent;
const quiet = pino({ level: 'silent' });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bmc-proxy-tls-'));
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
  });
  cert = pems.cert;
  certFile = join(dir, 'cert.pem');
  keyFile = join(dir, 'key.pem');
  writeFileSync(certFile, pems.cert);
  writeFileSync(keyFile, pems.private, { mode: 0o600 });
  agent = await startFakeAgent();
});

afterAll(async () => {
  await agent?.close();
  rmSync(dir, { recursive: true, force: true });
});

function tlsVersion(port: number, maxVersion: 'TLSv1.2' | 'TLSv1.3'): Promise<string> {
  return new Promise((resolve) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ca: cert, maxVersion, servername: 'localhost' }, () => {
      resolve(s.getProtocol() ?? 'none');
      s.end();
    });
    s.on('error', (e) => resolve(`error: ${e.message}`));
  });
}

function getStatus(url: string, headers: Record<string, string> = {}): Promise<number | string> {
  return fetch(url, { headers }).then(
    (r) => r.status,
    (e: Error) => `error: ${e.message}`,
  );
}

describe('proxy TLS and plain-HTTP refusal', () => {
  it('honours minimum TLS 1.3 exactly, and 1.2 when asked', async () => {
    const p13 = await startProxy(
      { port: 0, agentUrl: agent.url, tls: { certFile, keyFile, minVersion: '1.3' } },
      { logger: quiet },
    );
    const p12 = await startProxy(
      { port: 0, agentUrl: agent.url, tls: { certFile, keyFile, minVersion: '1.2' } },
      { logger: quiet },
    );
    try {
      expect(await tlsVersion(p13.port, 'TLSv1.2')).toMatch(/^error/);
      expect(await tlsVersion(p13.port, 'TLSv1.3')).toBe('TLSv1.3');
      expect(await tlsVersion(p12.port, 'TLSv1.2')).toBe('TLSv1.2');
      // Plain HTTP to the TLS port gets no page.
      expect(await getStatus(`http://127.0.0.1:${p13.port}/`)).toMatch(/^error/);
      expect(p13.url).toMatch(/^https:/);
    } finally {
      await Promise.all([p13.close(), p12.close()]);
    }
  });

  it('relays over wss with a valid token', async () => {
    const p = await startProxy({ port: 0, agentUrl: agent.url, tls: { certFile, keyFile } }, { logger: quiet });
    // The proxy finishes its own handshake with the console before it greets the viewer: a real RFB fake.
    const fakeConsole = await startFakeConsole();
    try {
      const token = agent.issue({ node: NODE, host: '127.0.0.1', port: fakeConsole.port });
      const ws = new WebSocket(`wss://127.0.0.1:${p.port}/websockify?node=${NODE}&token=${token}`, {
        ca: cert,
        headers: { Origin: p.url },
      });
      const first = await new Promise<string>((resolve, reject) => {
        ws.once('message', (d: Buffer) => resolve(d.toString()));
        ws.once('error', reject);
      });
      expect(first).toBe('RFB 003.008\n');
      ws.close();
      // https page carries HSTS.
      const hsts = await new Promise<string | undefined>((resolve) => {
        httpsRequest(`${p.url}/`, { ca: cert }, (res) => {
          res.resume();
          resolve(res.headers['strict-transport-security'] as string | undefined);
        }).end();
      });
      expect(hsts).toMatch(/max-age=/);
    } finally {
      await p.close();
      await fakeConsole.close();
    }
  });

  it('refuses plain HTTP when TLS is required behind a reverse proxy, unless a trusted proxy says https', async () => {
    const strict = await startProxy({ port: 0, agentUrl: agent.url, requireTls: true }, { logger: quiet });
    const trusting = await startProxy(
      { port: 0, agentUrl: agent.url, requireTls: true, trustedProxies: ['127.0.0.1'] },
      { logger: quiet },
    );
    try {
      expect(await getStatus(`${strict.url}/`)).toBe(403);
      expect(await getStatus(`${strict.url}/`, { 'x-forwarded-proto': 'https' })).toBe(403); // untrusted peer
      expect(await getStatus(`${trusting.url}/`, { 'x-forwarded-proto': 'https' })).toBe(200);
      expect(await getStatus(`${trusting.url}/`)).toBe(403);
      const token = agent.issue({ node: NODE, host: '127.0.0.1', port: 9 });
      const status = await new Promise<number>((resolve) => {
        const ws = new WebSocket(`${strict.url.replace('http', 'ws')}/websockify?node=${NODE}&token=${token}`);
        ws.on('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => resolve(101));
        ws.on('error', () => {});
      });
      expect(status).toBe(403);
      // Behind the trusted reverse proxy, the public origin is https://<Host>.
      const ok = await new Promise<number>((resolve) => {
        const host = trusting.url.replace('http://', '');
        const ws = new WebSocket(`${trusting.url.replace('http', 'ws')}/websockify?node=${NODE}&token=${token}`, {
          headers: { 'x-forwarded-proto': 'https', Origin: `https://${host}` },
        });
        ws.on('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => {
          resolve(101);
          ws.close();
        });
        ws.on('error', () => {});
      });
      expect(ok).toBe(101);
    } finally {
      await Promise.all([strict.close(), trusting.close()]);
    }
  });
});

describe('proxy configuration and CLI', () => {
  it('names the field and what was expected', () => {
    expect(() => parseProxyConfig({ port: 'x' })).toThrow(/port: .*number/);
    expect(() => parseProxyConfig({ allowedOrigins: ['https://a.example/path'] })).toThrow(
      /allowedOrigins.0: each allowed origin must be scheme:\/\/host\[:port\]/,
    );
    expect(() => parseProxyConfig({ tls: { certFile: 'c', keyFile: 'k', minVersion: '1.1' } })).toThrow(
      /tls.minVersion/,
    );
    expect(() => parseProxyConfig({ agentUrl: 'ftp://x' })).toThrow(/agentUrl must start with/);
    expect(() => parseProxyConfig({ bogus: 1 })).toThrow(/bogus/);
    expect(parseProxyConfig({}).limits.pingIntervalSec).toBe(25);
  });

  it('verifies tokens through a unix-socket agent URL', async () => {
    const { createServer: createHttp } = await import('node:http');
    const sock = join(dir, 'agent.sock');
    const srv = createHttp((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(403, { 'content-type': 'application/json' });
        res.end('{"reason":"revoked"}');
      });
    });
    await new Promise<void>((r) => srv.listen(sock, r));
    try {
      expect(await new AgentTokenVerifier(`unix:${sock}`).verify('n', 't')).toEqual({ ok: false, reason: 'revoked' });
    } finally {
      srv.close();
    }
  });

  it('runs as a program with flags and a config file, and stops on SIGTERM', async () => {
    const cfg = join(dir, 'proxy.yaml');
    writeFileSync(cfg, `agentUrl: ${agent.url}\nlimits:\n  maxSessionsPerNode: 2\n`);
    const child = spawn(
      process.execPath,
      [
        '--conditions=source',
        '--import',
        'tsx',
        'proxy/src/cli.ts',
        '--config',
        cfg,
        '--port',
        '0',
        '--allowed-origin',
        'https://ironic.example',
      ],
      {
        cwd: join(import.meta.dirname, '../..'),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const ready = await new Promise<{ url: string }>((resolve, reject) => {
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        const line = out.split('\n').find((l) => l.includes('"event":"ready"'));
        if (line) resolve(JSON.parse(line) as { url: string });
      });
      child.once('exit', (code) => reject(new Error(`proxy exited ${code}: ${err}`)));
    });
    expect(await getStatus(`${ready.url}/healthz`)).toBe(200);
    const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
  });

  it('exits 2 with a clear message on a bad flag value', async () => {
    let err = '';
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array) => (
      (err += chunk.toString()), true
    )) as typeof process.stderr.write;
    try {
      expect(await main(['--tls-min-version', '1.0', '--cert', 'c', '--key', 'k'])).toBe(2);
      expect(await main(['--port', 'eighty'])).toBe(2);
    } finally {
      process.stderr.write = write;
    }
    expect(err).toMatch(/tls.minVersion/);
    expect(err).toMatch(/--port must be a whole number, got "eighty"/);
  });
});

describe('proxy flags over the config file', () => {
  it('overrides single keys of the file and keeps the rest of each section', () => {
    const dir = mkdtempSync(join(tmpdir(), 'proxy-flags-'));
    const file = join(dir, 'proxy.yaml');
    writeFileSync(
      file,
      'port: 7000\ntls:\n  certFile: /etc/a.pem\n  keyFile: /etc/a.key\nlimits:\n  idleTimeoutSec: 60\n  maxSessionsPerNode: 2\nmetrics:\n  port: 9100\n',
    );
    const cfg = configFromFlags({ config: file, port: 7001, key: '/etc/b.key', maxSessionsPerNode: 5, metrics: true });
    expect(cfg).toEqual({
      port: 7001,
      tls: { certFile: '/etc/a.pem', keyFile: '/etc/b.key' },
      limits: { idleTimeoutSec: 60, maxSessionsPerNode: 5 },
      metrics: { port: 9100 },
    });
    expect(configFromFlags({ metrics: false })).toEqual({ metrics: { enabled: false } });
    rmSync(dir, { recursive: true, force: true });
  });
});
