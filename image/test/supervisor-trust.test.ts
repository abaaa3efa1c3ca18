/** verify_ca=false in real Chromium: the SPKI pin from browserTrust() is what lets the BMC's self-signed page load. */
import { createServer } from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import selfsigned from 'selfsigned';
import { expect, it } from 'vitest';
import { launchBrowser } from '../src/cdp/browser.js';
import { browserTrust } from 'bmc-console/supervisor/browser-trust';
import { CHROMIUM_EXECUTABLE } from 'bmc-console/supervisor/chromium';

it('Chromium loads a self-signed BMC page only with the pinned SPKI', async () => {
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'bmc.test' }], { keySize: 2048 });
  const server = createServer({ key: pems.private, cert: pems.cert }, (_q, r) => r.end('<title>pinned-bmc</title>ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dir = mkdtempSync(join(tmpdir(), 'trust-chromium-'));
  const open = async (args: string[], profile: string) => {
    // Root on the test host cannot use Chromium's sandbox.
    const browser = await launchBrowser({
      executablePath: CHROMIUM_EXECUTABLE,
      headless: true,
      userDataDir: join(dir, profile),
      args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), ...args],
    });
    try {
      const ctx = browser.defaultContext();
      const page = ctx.pages()[0] ?? (await ctx.newPage());
      return await page.goto(origin).then(
        () => page.evaluate(() => document.title),
        (e: Error) => e.message.split('\n')[0] ?? '',
      );
    } finally {
      await browser.close();
    }
  };
  try {
    expect(await open([], 'plain')).toMatch(/ERR_CERT_AUTHORITY_INVALID/);
    expect(await open(await browserTrust({ origin, verifyCa: false, home: dir }), 'pinned')).toBe('pinned-bmc');
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}, 180_000);
