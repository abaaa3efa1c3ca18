// The viewer page's noVNC in a real Chromium over a direct iDRAC9 KVM stream: noVNC's own SetPixelFormat and
// SetEncodings go through the iDRAC fix-up, the marker shows in the right colour and typed keys reach the BMC.
import { startEmulator, type RunningEmulator } from '@bmc-console/bmc-emulator/emulator';
import { kvmMarkerColor } from '@bmc-console/bmc-emulator/marker';
import { type Browser, chromium } from 'playwright-core';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { type DirectKvm, openDirectKvm } from '@bmc-console/common/direct/open-direct-kvm';
import { json, type PageServer, startPageServer } from './page-server.js';

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'];
const PASSWORD = 'Novnc-pw1';
let browser: Browser;
let emu: RunningEmulator;
let server: PageServer;
const opened: DirectKvm[] = [];

/** Relays one viewer websocket to a fresh direct iDRAC console. */
function onSocket(ws: WebSocket): void {
  ws.pause(); // until the console is open
  openDirectKvm(
    { vendor: 'idrac9', address: emu.url, username: emu.username, password: PASSWORD, verifyCa: false },
    { log: pino({ level: 'silent' }), timeoutMs: 5000 },
  ).then(
    (kvm) => {
      opened.push(kvm);
      kvm.stream.on('data', (b: Buffer) => ws.send(b));
      kvm.stream.on('end', () => ws.close());
      ws.on('message', (d: Buffer) => kvm.stream.write(d));
      ws.on('close', () => void kvm.close());
      ws.resume();
    },
    () => ws.close(1011),
  );
}

beforeAll(async () => {
  [browser, emu] = await Promise.all([
    chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS }),
    startEmulator({ vendor: 'idrac9', node: 'novnc-node', password: PASSWORD }),
  ]);
  server = await startPageServer({
    route: (_req, res, url) => url.pathname === '/api/token-status' && json(res, 200, { valid: true, readOnly: false }),
    selectProtocol: (o) => (o.has('binary') ? 'binary' : false),
    onSocket,
  });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await Promise.all(opened.map((k) => k.close().catch(() => {})));
  await emu?.close();
});

it('noVNC shows the iDRAC marker in true colours and its keys reach the BMC', async () => {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  await page.goto(`${server.url}/#node=node-1&token=token-for-alice`);
  const pixel = () =>
    page.evaluate(() => {
      const c = document.querySelector('#screen canvas') as HTMLCanvasElement | null;
      if (!c) return [-1, -1, -1];
      return [...(c.getContext('2d') as CanvasRenderingContext2D).getImageData(10, 10, 1, 1).data].slice(0, 3);
    });
  const m = kvmMarkerColor('idrac9');
  await expect
    .poll(async () => (await pixel()).every((v, i) => Math.abs(v - ([m.r, m.g, m.b][i] ?? -99)) <= 4), {
      timeout: 20_000,
    })
    .toBe(true);
  await page.locator('#screen canvas').click({ position: { x: 500, y: 400 } });
  await page.keyboard.type('novnc');
  await expect.poll(() => emu.state().typed, { timeout: 10_000 }).toBe('novnc');
  await page.close();
  await expect.poll(() => emu.state().liveKvmSessions, { timeout: 10_000 }).toBe(0);
  await expect.poll(() => emu.state().webSessions, { timeout: 10_000 }).toBe(0);
});
