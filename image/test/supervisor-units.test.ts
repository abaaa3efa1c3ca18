/** Pure parts of the supervisor: argument building, the password file, backoff, trust helpers, pages. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import selfsigned from 'selfsigned';
import { Backoff } from 'bmc-console/supervisor/backoff';
import { browserTrust, fetchPeerCertificate, spkiPin, splitPemBundle } from 'bmc-console/supervisor/browser-trust';
import { chromiumArgs } from 'bmc-console/supervisor/chromium';
import { bmcTarget } from '@bmc-console/common/console-env';
import { RedfishApp } from 'bmc-console/supervisor/redfish-app';
import { RetryPolicy } from 'bmc-console/supervisor/retry-policy';
import { KvmDemand } from 'bmc-console/supervisor/kvm-demand';
import type { BrowserSession } from 'bmc-console/supervisor/console-app';
import { asConsoleFailure } from 'bmc-console/console-failure';
import { RedfishError } from '@bmc-console/common/redfish/error';
import { createLogger } from '@bmc-console/common/log';
import { writePasswordFile, x11vncArgs } from 'bmc-console/supervisor/x11vnc';
import { xvfbArgs } from 'bmc-console/supervisor/xvfb';
import { fakeConsoleHtml, replaceStatusStep, statusPageHtml } from 'bmc-console/status-page/status-page';
import { CHROMIUM_EXECUTABLE } from 'bmc-console/supervisor/chromium';
import { ConsoleFailure } from 'bmc-console/vendor-script';
import { launchBrowser } from '../src/cdp/browser.js';

const auth = { authFile: '/run/x/Xauthority' };
describe('x11vnc arguments', () => {
  it('shares, stays up, no -ncache, no password', () => {
    const a = x11vncArgs({ display: ':3', ...auth, port: 5901, readOnly: false });
    expect(a).toEqual(expect.arrayContaining(['-display', ':3', '-rfbport', '5901', '-shared', '-forever', '-nopw']));
    expect(a.join(' ')).not.toMatch(/ncache|viewonly|nocursor|passwd|clipboard|nosel/);
  });
  it('opens the display with its cookie, takes no remote control and makes no reverse connections', () => {
    const a = x11vncArgs({ display: ':3', ...auth, port: 5900, readOnly: false });
    expect(a.join(' ')).toContain('-auth /run/x/Xauthority');
    expect(a).toEqual(expect.arrayContaining(['-noremote', '-novncconnect']));
  });
  it('read only: -viewonly -nocursor and no clipboard or selection either way', () => {
    expect(x11vncArgs({ display: ':3', ...auth, port: 5900, readOnly: true })).toEqual(
      expect.arrayContaining([
        '-viewonly',
        '-nocursor',
        '-noclipboard',
        '-nosetclipboard',
        '-nosel',
        '-noremote',
        '-novncconnect',
      ]),
    );
  });
  it('with a password: a file that x11vnc removes after reading, never the password', () => {
    const a = x11vncArgs({ display: ':3', ...auth, port: 5900, readOnly: false, passwordFile: '/run/x/vnc-password' });
    expect(a).toEqual(expect.arrayContaining(['-passwdfile', 'rm:/run/x/vnc-password']));
    expect(a).not.toContain('-nopw');
  });
  it('writes the password file with mode 0600', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vncpw-'));
    try {
      const p = writePasswordFile(dir, 's3cret');
      expect(statSync(p).mode & 0o777).toBe(0o600);
      expect(readFileSync(p, 'utf8')).toBe('s3cret\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Xvfb and Chromium arguments', () => {
  it('Xvfb picks its own display (-displayfd), gets the configured size and keeps access control (-auth, no -ac)', () => {
    const a = xvfbArgs({ width: 1024, height: 768, ...auth });
    expect(a.slice(0, 2)).toEqual(['-displayfd', '3']);
    expect(a).toContain('1024x768x24');
    expect(a.join(' ')).not.toMatch(/(^| ):\d/);
    expect(a.join(' ')).toContain('-auth /run/x/Xauthority');
    expect(a).not.toContain('-ac');
  });
  it('Chromium: kiosk and the quiet flags from platform-notes.md', () => {
    const a = chromiumArgs({
      display: ':1',
      width: 1280,
      height: 960,
      sandbox: true,
      extraArgs: ['--x'],
      debug: false,
    });
    for (const f of [
      '--kiosk',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--window-size=1280,960',
      '--x',
    ])
      expect(a).toContain(f);
    expect(a).not.toContain('--no-sandbox');
    expect(
      chromiumArgs({ display: ':1', width: 1, height: 1, sandbox: true, extraArgs: [], debug: true }),
    ).not.toContain('--kiosk');
  });
});

describe('Backoff', () => {
  it('doubles up to the maximum and resets after a stable run', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, factor: 2, resetAfterMs: 5000 });
    expect([0, 1, 2, 3, 4, 5].map(() => b.nextDelay(0))).toEqual([100, 200, 400, 800, 1000, 1000]);
    b.started(10_000);
    expect(b.nextDelay(12_000)).toBe(1000); // crashed soon after starting: still backing off
    b.started(20_000);
    expect(b.nextDelay(26_000)).toBe(100); // ran for 6 s: a new crash starts over
  });
});

describe('BMC target and failures from APP_INFO', () => {
  it('assumes https and the default Redfish root', () => {
    expect(bmcTarget({ address: '10.0.0.5', username: 'u', password: 'p' })).toEqual({
      origin: 'https://10.0.0.5',
      rootPrefix: '/redfish/v1',
      username: 'u',
      password: 'p',
      verifyCa: true,
    });
    expect(
      bmcTarget({ address: 'https://bmc:8443', root_prefix: 'custom/redfish/v1', verify_ca: false }),
    ).toMatchObject({ origin: 'https://bmc:8443', rootPrefix: '/custom/redfish/v1', verifyCa: false });
  });
  it('maps client errors to a cause and a hint', () => {
    const auth = new RedfishError('auth', 'https://b/redfish/v1', 'HTTP 401', { status: 401 });
    expect(asConsoleFailure(auth, 'Redfish discovery')).toMatchObject({
      kind: 'auth',
      cause: 'Redfish discovery: the BMC rejected the user name or password',
      hint: expect.stringMatching(/username/),
    });
    const f = new ConsoleFailure('c', 'h', 'kvm-busy');
    expect(asConsoleFailure(f, 'x')).toBe(f);
  });
});

describe('RetryPolicy', () => {
  const pacing = {
    afterLoginFailure: { initialMs: 100, maxMs: 400, factor: 2, resetAfterMs: 1000 },
    afterUnreachable: { initialMs: 10, maxMs: 20, factor: 2, resetAfterMs: 1000 },
    unwatchedMinMs: 300,
  };
  it('paces an unreachable BMC apart from a failed login, and waits longer while nobody watches', () => {
    const r = new RetryPolicy(pacing);
    expect(r.afterFailure('unreachable', true, 0)).toEqual({ delayMs: 10, tries: 1 });
    expect(r.afterFailure('unreachable', true, 0)).toEqual({ delayMs: 20, tries: 2 });
    expect(r.afterFailure('auth', true, 0)).toEqual({ delayMs: 100, tries: 1 });
    expect(r.afterFailure('tls', false, 0)).toEqual({ delayMs: 300, tries: 2 });
    expect(r.afterFailure('auth', true, 0)).toEqual({ delayMs: 400, tries: 3 });
  });
  it('starts afresh after a try that lasted', () => {
    const r = new RetryPolicy(pacing);
    r.afterFailure('auth', true, 0);
    r.afterFailure('auth', true, 0);
    r.attempt(5000);
    expect(r.afterFailure('auth', true, 7000)).toEqual({ delayMs: 100, tries: 1 });
  });
});

describe('RedfishApp without a BMC', () => {
  it('shows a launch failure with its retry, and asks for a fresh browser once trust works', async () => {
    const retry = new RetryPolicy({
      afterLoginFailure: { initialMs: 5, maxMs: 5, factor: 1, resetAfterMs: 1000 },
      afterUnreachable: { initialMs: 5, maxMs: 5, factor: 1, resetAfterMs: 1000 },
      unwatchedMinMs: 5,
    });
    const app = new RedfishApp(
      { address: 'http://bmc.invalid', username: 'u', password: 'secret-pw' },
      { keyDelayMs: 0, display: { width: 1280, height: 960 }, retry },
    );
    const failures: { cause: string; hint: string; details?: string[] }[] = [];
    let relaunched = 0;
    const session = {
      signal: new AbortController().signal,
      log: createLogger('test', { level: 'silent' }),
      demand: new KvmDemand('always'),
      status: async () => undefined,
      fail: async (cause: string, hint: string, details?: string[]) =>
        void failures.push({ cause, hint, ...(details ? { details } : {}) }),
      relaunch: () => void (relaunched += 1),
      launchFailure: new RedfishError('unreachable', 'https://bmc.invalid/', 'connection refused secret-pw'),
    } as unknown as BrowserSession;
    await app.run(session);
    expect(relaunched).toBe(1);
    expect(failures).toEqual([
      {
        cause: 'Opening the console: the BMC cannot be reached (connection refused [redacted])',
        hint: expect.stringMatching(/BMC address/),
        details: ['Trying again in 0 s (try 1).'],
      },
    ]);
  });
});

describe('status pages', () => {
  it('escapes what it shows', () => {
    const html = statusPageHtml({ step: '<b>x</b>', error: 'a & b', hint: '"h"' });
    expect(html).toContain('&lt;b&gt;x&lt;/b&gt;');
    expect(html).toContain('a &amp; b');
    expect(html).not.toContain('<b>x</b>');
  });
  it('labels the fake console clearly', () => {
    expect(fakeConsoleHtml({ readOnly: true })).toMatch(/bmc-console test console[\s\S]*read only/);
  });
  it('a new step replaces the heading of the status page only (real headless Chromium)', {
    timeout: 60_000,
  }, async () => {
    const browser = await launchBrowser({
      executablePath: CHROMIUM_EXECUTABLE,
      headless: true,
      args: ['--no-sandbox'],
    });
    try {
      const page = await browser.newPage();
      const content = () => page.evaluate(() => document.documentElement.outerHTML);
      await page.setContent(statusPageHtml({ step: 'Connecting to the BMC', subject: 'node n1' }));
      expect(await page.evaluate(replaceStatusStep, { step: 'Opening <the> console', resting: false })).toBe(true);
      expect(await page.locator('#step').textContent()).toBe('Opening <the> console');
      expect(await page.locator('#step .spinner').count()).toBe(1);
      // A resting state (waiting for a viewer or a node) has no spinner, which Chromium would keep drawing.
      expect(
        await page.evaluate(replaceStatusStep, {
          step: 'Ready: the BMC console opens when a viewer connects',
          resting: true,
        }),
      ).toBe(true);
      expect(await page.locator('#step .spinner').count()).toBe(0);
      expect(await page.evaluate(replaceStatusStep, { step: 'Connecting to the BMC', resting: false })).toBe(true);
      expect(await page.locator('#step .spinner').count()).toBe(1);
      expect(await page.locator('#step').textContent()).toBe('Connecting to the BMC');
      await page.setContent(statusPageHtml({ step: 'Ready: waiting to be assigned a node', resting: true }));
      expect(await page.locator('#step .spinner').count()).toBe(0);
      await page.setContent(statusPageHtml({ step: 'Connecting to the BMC', subject: 'node n1' }));
      expect(await page.locator('.subject').textContent()).toBe('node n1');
      // Anything else (the failure page, the fake console, a BMC page) stays as it is.
      for (const html of [
        statusPageHtml({ step: 'x', error: 'failed' }),
        fakeConsoleHtml({ readOnly: false }),
        '<h1 id="step">BMC</h1>',
      ]) {
        await page.setContent(html);
        const before = await content();
        expect(await page.evaluate(replaceStatusStep, { step: 'later step', resting: false })).toBe(false);
        expect(await content()).toBe(before);
      }
    } finally {
      await browser.close();
    }
  });
});

describe('browser trust for verify_ca (real TLS server, real certutil)', () => {
  let server: ReturnType<typeof createServer>;
  let origin = '';
  let certPem = '';
  let home = '';
  beforeAll(async () => {
    const pems = await selfsigned.generate([{ name: 'commonName', value: 'bmc.test' }], { keySize: 2048 });
    certPem = pems.cert;
    server = createServer({ key: pems.private, cert: pems.cert }, (_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    home = mkdtempSync(join(tmpdir(), 'trust-home-'));
  });
  afterAll(() => {
    server?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('verify_ca=false pins the SPKI of the certificate the BMC presents', async () => {
    const der = await fetchPeerCertificate('127.0.0.1', (server.address() as AddressInfo).port);
    const expected = spkiPin(Buffer.from(certPem.replace(/-----[^-]+-----|\s/g, ''), 'base64'));
    expect(spkiPin(der)).toBe(expected);
    expect(await browserTrust({ origin, verifyCa: false, home })).toEqual([
      `--ignore-certificate-errors-spki-list=${expected}`,
    ]);
  });

  it('verify_ca=true uses the system store (no flags)', async () => {
    expect(await browserTrust({ origin, verifyCa: true, home })).toEqual([]);
  });

  it('verify_ca=PATH imports every CA of the bundle into the browser user NSS db', async () => {
    const bundle = join(home, 'ca.pem');
    writeFileSync(bundle, `${certPem}\n${certPem}`);
    expect(splitPemBundle(readFileSync(bundle, 'utf8'))).toHaveLength(2);
    expect(await browserTrust({ origin, verifyCa: bundle, home })).toEqual([]);
    const list = execFileSync('certutil', ['-d', `sql:${join(home, '.pki', 'nssdb')}`, '-L'], { encoding: 'utf8' });
    expect(list).toContain('bmc-console-ca-0');
  });

  it('an unreachable BMC or a missing bundle is a ConsoleFailure naming it', async () => {
    await expect(browserTrust({ origin: 'https://127.0.0.1:1', verifyCa: false, home })).rejects.toMatchObject({
      kind: 'unreachable',
    });
    await expect(browserTrust({ origin, verifyCa: '/nonexistent/ca.pem', home })).rejects.toThrow(
      /nonexistent\/ca\.pem.*verify_ca/,
    );
  });
});
