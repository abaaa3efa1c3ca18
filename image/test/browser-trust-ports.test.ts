/**
 * verify_ca false pins every TLS port the BMC's KVM uses (XCC's viewer port has a certificate of its own), and
 * verify_ca true takes the operator's CAs from the local CA directory, in Node and in real Chromium.
 */
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { request } from 'node:https';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../src/cdp/browser.js';
import { startEmulator, type RunningEmulator } from '@bmc-console/bmc-emulator/emulator';
import { browserTrust, fetchPeerCertificate, lookupKvmEndpoints, spkiPin } from 'bmc-console/supervisor/browser-trust';
import { CHROMIUM_EXECUTABLE } from 'bmc-console/supervisor/chromium';
import { localCaFiles, trustOptions } from '@bmc-console/common/redfish/trust';

const dir = mkdtempSync(join(tmpdir(), 'trust-ports-'));
let xcc: RunningEmulator;
let rpPort: number;
const PIN_FLAG = '--ignore-certificate-errors-spki-list=';
const pinsOf = (flags: string[]) =>
  flags
    .find((f) => f.startsWith(PIN_FLAG))
    ?.slice(PIN_FLAG.length)
    .split(',') ?? [];

/** Headless Chromium on a profile of its own; root on the test host cannot use its sandbox. */
const launch = (profile: string, args: string[] = [], env?: NodeJS.ProcessEnv) =>
  launchBrowser({
    executablePath: CHROMIUM_EXECUTABLE,
    headless: true,
    userDataDir: join(dir, profile),
    args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), ...args],
    ...(env ? { env } : {}),
  });

/** Opens the emulator's main page in Chromium with `args`, then a websocket to its viewer port: 'open' or 'error'. */
async function viewerSocket(args: string[], profile: string, origin: string, wsUrl: string): Promise<string> {
  const browser = await launch(profile, args);
  try {
    const ctx = browser.defaultContext();
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    const loaded = await page.goto(`${origin}/redfish/v1/`).then(
      () => 'ok',
      (e: Error) => e.message.split('\n')[0] ?? '',
    );
    if (loaded !== 'ok') return loaded;
    return await page.evaluate(
      (u) =>
        new Promise<string>((resolve) => {
          const ws = new WebSocket(u);
          ws.onopen = () => (ws.close(), resolve('open'));
          ws.onerror = () => resolve('error');
        }),
      wsUrl,
    );
  } finally {
    await browser.close();
  }
}

beforeAll(async () => {
  xcc = await startEmulator({ vendor: 'xcc', host: '127.0.0.1' });
  rpPort = Number(new URL(xcc.viewerUrl ?? '').port);
});
afterAll(async () => {
  await xcc?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('verify_ca false: every KVM port is pinned', () => {
  it('Redfish names the XCC viewer port (KVMIP), and both certificates are pinned', async () => {
    const bmc = { origin: xcc.url, username: xcc.username, password: xcc.password };
    expect(await lookupKvmEndpoints(bmc, 'auto')).toEqual([{ host: '127.0.0.1', port: rpPort }]);
    // Basic auth first: the lookup holds no Redfish session.
    expect(xcc.state().redfishSessions).toBe(0);
    const flags = await browserTrust({
      origin: xcc.url,
      verifyCa: false,
      home: dir,
      kvmEndpoints: () => lookupKvmEndpoints(bmc, 'auto'),
    });
    const main = spkiPin(await fetchPeerCertificate('127.0.0.1', xcc.port));
    const viewer = spkiPin(await fetchPeerCertificate('127.0.0.1', rpPort));
    expect(main).not.toBe(viewer);
    expect(pinsOf(flags)).toEqual([main, viewer]);
  });

  it('a KVM port without TLS, or a failed lookup, leaves the web port pinned and says so', async () => {
    const plain = createTcpServer((s) => s.end('RFB 003.008\n'));
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    const warnings: string[] = [];
    try {
      const port = (plain.address() as AddressInfo).port;
      const base = { origin: xcc.url, verifyCa: false as const, home: dir, warn: (m: string) => warnings.push(m) };
      expect(
        pinsOf(await browserTrust({ ...base, kvmEndpoints: async () => [{ host: '127.0.0.1', port }] })),
      ).toHaveLength(1);
      expect(
        pinsOf(await browserTrust({ ...base, kvmEndpoints: () => Promise.reject(new Error('401')) })),
      ).toHaveLength(1);
      expect(warnings).toEqual([
        expect.stringMatching(/gave no TLS certificate/),
        expect.stringMatching(/cannot look up/),
      ]);
    } finally {
      plain.close();
    }
  });

  it('the lookup runs beside the web port; a web port that is down fails alone, without the lookup warnings', async () => {
    const warnings: string[] = [];
    let looked = 0;
    await expect(
      browserTrust({
        origin: 'https://127.0.0.1:1',
        verifyCa: false,
        home: dir,
        warn: (m) => warnings.push(m),
        kvmEndpoints: async () => {
          looked++;
          throw new Error('unreachable');
        },
      }),
    ).rejects.toMatchObject({ kind: 'unreachable' });
    expect(looked).toBe(1);
    expect(warnings).toEqual([]);
  });

  it('Chromium opens the XCC viewer socket only with the viewer port pinned too', async () => {
    const wsUrl = `wss://127.0.0.1:${rpPort}/`;
    const mainOnly = await browserTrust({ origin: xcc.url, verifyCa: false, home: dir });
    expect(await viewerSocket(mainOnly, 'main-only', xcc.url, wsUrl)).toBe('error');
    const bmc = { origin: xcc.url, username: xcc.username, password: xcc.password };
    const all = await browserTrust({
      origin: xcc.url,
      verifyCa: false,
      home: dir,
      kvmEndpoints: () => lookupKvmEndpoints(bmc, 'auto'),
    });
    expect(await viewerSocket(all, 'all-ports', xcc.url, wsUrl)).toBe('open');
  }, 120_000);
});

describe('verify_ca true: the local CA directory', () => {
  it('Node and Chromium trust a CA dropped into the directory (no update-ca-certificates)', async () => {
    const caDir = join(dir, 'emu-ca');
    const emu = await startEmulator({ vendor: 'xcc', host: '127.0.0.1', caDir });
    const local = join(dir, 'local-ca', 'site');
    mkdirSync(local, { recursive: true });
    try {
      copyFileSync(join(caDir, 'ca.pem'), join(local, 'bmc-emulator.crt'));
      const localDir = join(dir, 'local-ca');
      expect(localCaFiles(localDir)).toEqual([join(local, 'bmc-emulator.crt')]);
      const get = (o: object) =>
        new Promise<number>((resolve, reject) =>
          request(`${emu.url}/redfish/v1/`, o, (r) => (r.resume(), resolve(r.statusCode ?? 0)))
            .on('error', reject)
            .end(),
        );
      await expect(get(trustOptions(true, emu.url, join(dir, 'nothing-here')))).rejects.toThrow(
        /self-signed|unable to verify|local issuer/i,
      );
      expect(await get(trustOptions(true, emu.url, localDir))).toBe(200);

      const home = join(dir, 'home-true');
      expect(await browserTrust({ origin: emu.url, verifyCa: true, home, localCaDir: localDir })).toEqual([]);
      const wsUrl = `wss://127.0.0.1:${new URL(emu.viewerUrl ?? '').port}/`;
      const browser = await launch('true-profile', [], { ...process.env, HOME: home });
      try {
        const ctx = browser.defaultContext();
        const page = ctx.pages()[0] ?? (await ctx.newPage());
        await page.goto(`${emu.url}/redfish/v1/`);
        const ws = await page.evaluate(
          (u) =>
            new Promise<string>((resolve) => {
              const s = new WebSocket(u);
              s.onopen = () => (s.close(), resolve('open'));
              s.onerror = () => resolve('error');
            }),
          wsUrl,
        );
        expect(ws).toBe('open');
      } finally {
        await browser.close();
      }
    } finally {
      await emu.close();
    }
  }, 120_000);
});
