import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../src/emulator.js';
import { hostAddress } from '../src/host-address.js';
import { http } from './helpers.js';

// The hostile pages in a real Chromium on the host, where loopback is open: the positive control for
// tests/reliability/hostile.rel.ts, which expects every attempt to fail from inside a console.
const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-quic',
];

let browser: Browser;
let target: Server;
let targetPort = 0;
const targetRequests: string[] = [];
const running: RunningEmulator[] = [];

beforeAll(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  target = createServer((req, res) => {
    targetRequests.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
  });
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  targetPort = (target.address() as AddressInfo).port;
});
afterAll(async () => {
  await browser?.close();
  await new Promise<void>((r) => (target ? target.close(() => r()) : r()));
  await Promise.all(running.map((e) => e.close()));
});

describe('hostile mode', () => {
  it('the login page tries every kind of attempt at the given address and ports and reports each outcome to the emulator; a reachable target shows as reached', async () => {
    const emu = await startEmulator({
      vendor: 'unknown',
      hostile: { hosts: ['127.0.0.1'], ports: [targetPort], nodes: ['n1'], attemptTimeoutMs: 1500 },
    });
    running.push(emu);
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true, acceptDownloads: false });
    const page = await ctx.newPage();
    const opened: string[] = [];
    ctx.on(
      'page',
      (p) =>
        void p.waitForLoadState().then(
          () => opened.push(p.url()),
          () => opened.push(p.url()),
        ),
    );
    await page.goto(emu.url);
    let h = emu.state().hostile;
    // The page ends by reporting done, or is replaced by Chromium's insecure-form warning and reports nothing more.
    const replaced = () =>
      h?.attempts.some((a) => a.page === '/' && a.kind === 'form-insecure-top' && a.outcome === 'reached');
    let replacedFor = 0;
    for (let i = 0; i < 150 && !h?.pages.some((p) => p.page === '/' && p.done) && replacedFor < 15; i++) {
      await new Promise((r) => setTimeout(r, 200));
      h = emu.state().hostile;
      replacedFor = replaced() ? replacedFor + 1 : 0;
    }
    const shown = await page.textContent('body').catch(() => '');
    await ctx.close();
    const kinds = new Set(h!.attempts.map((a) => a.kind));
    for (const k of [
      'fetch-cors',
      'fetch-no-cors',
      'xhr',
      'form-text-plain',
      'img',
      'script',
      'websocket',
      'file-fetch',
      'file-frame',
      'window-open',
      'download-anchor',
      'devtools-keys',
      'form-insecure-window',
      'form-insecure-top',
    ])
      expect(kinds).toContain(k);
    // Open loopback: the no-cors fetch and the image-free loads reach the target, which saw the requests.
    const atTarget = h!.attempts.filter((a) => a.target.includes(`127.0.0.1:${targetPort}/`));
    expect(atTarget.find((a) => a.kind === 'fetch-no-cors')?.outcome).toBe('reached');
    expect(atTarget.find((a) => a.kind === 'script')?.outcome).toBe('reached');
    expect(targetRequests).toContain('POST /v1/consoles/n1/urls');
    // Nothing local leaks into a web page even on the host.
    expect(h!.attempts.find((a) => a.kind === 'file-fetch')?.outcome).toBe('failed');
    // Headless Chromium with Playwright's defaults (popups allowed, insecure-form warnings on) shows what the checks
    // can see: a window, the warning in a window of its own, and the warning page in place of the page itself.
    expect(h!.attempts.find((a) => a.kind === 'window-open')?.outcome).toBe('reached');
    expect(opened.filter((u) => !u.includes('/__hostile/popup') && !u.startsWith('chrome-error:'))).toEqual([]);
    expect(opened.some((u) => u.startsWith('chrome-error:'))).toBe(true);
    expect(h!.attempts.find((a) => a.kind === 'form-insecure-top')).toMatchObject({ outcome: 'reached' });
    expect(shown).toMatch(/not secure/);
  }, 90_000);

  it('reports are checked: unknown kinds and outcomes are refused', async () => {
    const emu = await startEmulator({ vendor: 'unknown', hostile: { hosts: ['127.0.0.1'] } });
    running.push(emu);
    const bad = await http(`${emu.url}/__hostile/report`, {
      method: 'POST',
      body: JSON.stringify({ page: '/', attempts: [{ kind: 'rm -rf', target: 'x', outcome: 'reached' }] }),
    });
    expect(bad.status).toBe(400);
    const ok = await http(`${emu.url}/__hostile/report`, {
      method: 'POST',
      body: JSON.stringify({ page: '/', attempts: [{ kind: 'xhr', target: 'http://x', outcome: 'failed' }] }),
    });
    expect(ok.status).toBe(200);
    expect(emu.state().hostile?.attempts).toEqual([
      { page: '/', kind: 'xhr', target: 'http://x', outcome: 'failed', detail: '' },
    ]);
    // A self-navigation attempt's "reached" (sent before it) is replaced by its later "failed" (the page stayed).
    for (const outcome of ['reached', 'failed'])
      await http(`${emu.url}/__hostile/report`, {
        method: 'POST',
        body: JSON.stringify({ page: '/', attempts: [{ kind: 'form-insecure-top', target: 'http://y', outcome }] }),
      });
    expect(emu.state().hostile?.attempts.filter((a) => a.kind === 'form-insecure-top')).toEqual([
      { page: '/', kind: 'form-insecure-top', target: 'http://y', outcome: 'failed', detail: '' },
    ]);
    const dl = await http(`${emu.url}/__hostile/download`);
    expect(String(dl.headers['content-disposition'])).toMatch(/^attachment; filename="bmc-hostile-download-/);
    expect(dl.text).toContain(emu.state().hostile!.downloadMarker);
    const login = await http(`${emu.url}/`);
    expect(login.text).toContain('<script src="/__hostile/probe.js"></script>');
  });
});

describe('listening address', () => {
  it("an emulator on this machine's interface address carries that address in its certificate; its control listener stays on 127.0.0.1", async () => {
    const host = hostAddress();
    const emu = await startEmulator({ vendor: 'idrac9', host });
    running.push(emu);
    expect(emu.url).toBe(`https://${host}:${emu.port}`);
    expect(new URL(emu.controlUrl).hostname).toBe('127.0.0.1');
    const pem = await new Promise<string>((resolve, reject) => {
      const s = connect({ host, port: emu.port, rejectUnauthorized: false }, () => {
        resolve(s.getPeerX509Certificate()?.toString() ?? '');
        s.end();
      });
      s.on('error', reject);
    });
    expect(new X509Certificate(pem).subjectAltName).toContain(`IP Address:${host}`);
  });
});
