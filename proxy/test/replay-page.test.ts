// The replay page in a real Chromium: a recording written here per common/src/contracts/recording.ts (raw
// rectangles of known colours at known times, key/pointer/clipboard input, a dropped key, an event), served the
// way the proxy serves it. Seeking shows the frame of that moment, the timeline lists the input and seeks, and
// refusals and unplayable recordings show a clear message.
import { createHmac } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  RECORDING_MAGIC,
  RecordKind,
  type RecordingEvent,
  type RecordingHeader,
} from '@bmc-console/common/contracts/recording';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, novncSetPixelFormat, type PageServer, rawRect, serverInit, startPageServer } from './page-server.js';

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'];
const SHOTS = process.env.BMC_TEST_SCREENSHOTS ?? join(import.meta.dirname, '../../.work/screenshots/proxy');
const W = 64;
const H = 48;
const NODE = 'node-7';
const TOKEN = 'replay-token-0123456789';
const KEY = Buffer.from('test recording key, 32 bytes ...');
const RED: [number, number, number] = [0xd0, 0x20, 0x20];
const GREEN: [number, number, number] = [0x20, 0xc0, 0x40];
const BLUE: [number, number, number] = [0x20, 0x40, 0xe0];

type Rec = { kind: number; t: number; data: Buffer };

function recordingFile(records: Rec[], pixelBpp = 32): Buffer {
  const header: RecordingHeader = {
    version: 1,
    id: 'x',
    session: 'abcdef0123456789',
    node: NODE,
    user: 'alice',
    role: 'control',
    readOnly: false,
    source: '127.0.0.1',
    tokenId: 'fp-1234',
    start: '2026-12-06T16:00:00.000Z',
    serverInit: serverInit(W, H, 'bmc').toString('hex'),
    width: W,
    height: H,
  };
  const h = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(h.length);
  const parts: Buffer[] = [Buffer.from(RECORDING_MAGIC), len, h];
  const all = [{ kind: RecordKind.viewer, t: 0, data: novncSetPixelFormat(pixelBpp) }, ...records];
  for (const r of all) {
    const head = Buffer.alloc(9);
    head[0] = r.kind;
    head.writeUInt32BE(r.t, 1);
    head.writeUInt32BE(r.data.length, 5);
    parts.push(head, r.data);
  }
  const body = Buffer.concat(parts);
  const end = Buffer.alloc(9);
  end[0] = RecordKind.end;
  end.writeUInt32BE(all.at(-1)!.t, 1);
  end.writeUInt32BE(32, 5);
  const mac = createHmac('sha256', KEY).update(body).update(end).digest();
  return Buffer.concat([body, end, mac]);
}

const key = (sym: number, down: boolean): Buffer => {
  const b = Buffer.alloc(8);
  b[0] = 4;
  b[1] = down ? 1 : 0;
  b.writeUInt32BE(sym, 4);
  return b;
};
const pointer = (mask: number, x: number, y: number): Buffer => {
  const b = Buffer.alloc(6);
  b[0] = 5;
  b[1] = mask;
  b.writeUInt16BE(x, 2);
  b.writeUInt16BE(y, 4);
  return b;
};
const clipboard = (text: string): Buffer => {
  const b = Buffer.alloc(8);
  b[0] = 6;
  b.writeInt32BE(text.length, 4);
  return Buffer.concat([b, Buffer.from(text, 'latin1')]);
};
const event = (e: RecordingEvent): Buffer => Buffer.from(JSON.stringify(e));

const C = RecordKind.console;
const V = RecordKind.viewer;
const D = RecordKind.dropped;
const GOOD_ID = '20261206T160000Z-node-7-abcdef01';
const SMALL_ID = '20261206T160000Z-node-7-0000beef';
const ALTERED_ID = '20261206T160000Z-node-7-deadbeef';

const GOOD = recordingFile([
  { kind: C, t: 0, data: rawRect(0, 0, W, H, RED) },
  { kind: V, t: 1000, data: key(0x61, true) },
  { kind: V, t: 1050, data: key(0x61, false) },
  { kind: V, t: 1200, data: key(0xff0d, true) },
  { kind: V, t: 1500, data: pointer(1, 10, 20) },
  { kind: V, t: 1550, data: pointer(0, 10, 20) },
  { kind: C, t: 2000, data: rawRect(0, 0, W, H, GREEN) },
  { kind: D, t: 2500, data: key(0x62, true) },
  { kind: RecordKind.event, t: 2800, data: event({ event: 'joined', session: 's-bob', user: 'bob' }) },
  { kind: C, t: 3000, data: rawRect(0, 0, W / 2, H, BLUE) },
  { kind: V, t: 3500, data: clipboard('hello') },
]);

let browser: Browser;
let ctx: BrowserContext;
let server: PageServer;
const seen: Array<{ id: string; token: string | null; auth: string | undefined }> = [];

function recordings(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
  const m = /^\/api\/recordings\/([^/]+)$/.exec(url.pathname);
  if (!m) return false;
  const id = decodeURIComponent(m[1]!);
  seen.push({ id, token: url.searchParams.get('token'), auth: req.headers.authorization });
  const token = url.searchParams.get('token') ?? req.headers.authorization?.replace(/^Bearer /, '');
  if (token !== TOKEN || url.searchParams.get('node') !== NODE)
    return json(res, 403, { error: 'the token does not give access to this recording' });
  if (id === ALTERED_ID)
    return json(res, 422, { error: 'the recording was altered: its HMAC does not match the proxy key' });
  const body = id === GOOD_ID ? GOOD : id === SMALL_ID ? recordingFile([], 16) : undefined;
  if (!body) return json(res, 404, { error: 'no such recording' });
  res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
  return true;
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  [browser, server] = await Promise.all([
    chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS }),
    startPageServer({ route: recordings }),
  ]);
  ctx = await browser.newContext({ viewport: { width: 1100, height: 700 }, acceptDownloads: true });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

interface ReplayState {
  state: string;
  error: string | null;
  durationMs: number;
  positionMs: number;
  events: Array<{ t: number; type: string; text: string; dropped: boolean; user: string }>;
}
const replay = (page: Page) =>
  page.evaluate(() => {
    const r = (window as unknown as { bmcReplay: ReplayState }).bmcReplay;
    return { state: r.state, error: r.error, durationMs: r.durationMs, positionMs: r.positionMs, events: r.events };
  });
const seek = (page: Page, ms: number) =>
  page.evaluate((t) => (window as unknown as { bmcReplay: { seek(ms: number): Promise<void> } }).bmcReplay.seek(t), ms);
const pixel = (page: Page, x: number, y: number) =>
  page.evaluate(
    ([px, py]) => {
      const c = document.querySelector('#screen canvas') as HTMLCanvasElement;
      return [
        ...(c.getContext('2d') as CanvasRenderingContext2D).getImageData(px as number, py as number, 1, 1).data,
      ].slice(0, 3);
    },
    [x, y],
  );

async function open(hash: string): Promise<{ page: Page; errors: string[] }> {
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) errors.push(m.text());
  });
  await page.goto(`${server.url}/replay.html#${hash}`);
  await expect.poll(async () => (await replay(page)).state, { timeout: 20_000 }).not.toBe('loading');
  return { page, errors };
}

describe('replay page (Chromium)', () => {
  it('seeks to the frame of a moment, lists the input, plays to the end and exports a frame', async () => {
    const { page, errors } = await open(`node=${NODE}&token=${TOKEN}&recording=${GOOD_ID}`);
    const st = await replay(page);
    expect(st.state).toBe('ready');
    expect(st.durationMs).toBe(3500);
    expect(seen.at(-1)).toEqual({ id: GOOD_ID, token: TOKEN, auth: undefined });
    // The token leaves the address bar.
    expect(page.url()).not.toContain(TOKEN);
    expect(await pixel(page, 5, 5)).toEqual(RED);

    await seek(page, 2100);
    expect(await pixel(page, 5, 5)).toEqual(GREEN);
    expect((await replay(page)).positionMs).toBe(2100);
    await seek(page, 3200);
    expect(await pixel(page, 5, 5)).toEqual(BLUE);
    expect(await pixel(page, W - 5, 5)).toEqual(GREEN);
    // Back in time: a fresh decoder fed from the start.
    await seek(page, 1999);
    expect(await pixel(page, W - 5, 5)).toEqual(RED);

    expect(st.events.map((e) => [e.t, e.type, e.text, e.dropped, e.user])).toEqual([
      [1000, 'key', 'a', false, 'alice'],
      [1200, 'key', 'Return', false, 'alice'],
      [1500, 'click', 'left click at 10,20', false, 'alice'],
      [2500, 'key', 'b', true, 'alice'],
      [2800, 'event', 'joined', false, 'bob'],
      [3500, 'clipboard', 'clipboard: “hello” (5 chars)', false, 'alice'],
    ]);
    expect(await page.$$eval('#events li', (lis) => lis.map((li) => li.className))).toEqual([
      'key',
      'key',
      // The last event at or before the position (1999 ms) is marked.
      'click current',
      'key dropped',
      'event',
      'clipboard',
    ]);
    // Clicking an event seeks to it.
    await page.click('#events li:nth-child(4) button');
    await expect.poll(async () => (await replay(page)).positionMs).toBe(2500);
    expect(await pixel(page, 5, 5)).toEqual(GREEN);
    expect(await page.getAttribute('#events li:nth-child(4)', 'class')).toContain('current');

    await page.screenshot({ path: join(SHOTS, 'replay.png') });
    expect(
      await page.evaluate(() =>
        (window as unknown as { bmcReplay: { frameDataUrl(): string } }).bmcReplay.frameDataUrl(),
      ),
    ).toMatch(/^data:image\/png;base64,/);
    const download = page.waitForEvent('download');
    await page.click('#btn-export');
    expect((await download).suggestedFilename()).toBe(`${GOOD_ID}-2500ms.png`);

    // Play at 8x from 2.5 s: the rest (1 s) takes ~125 ms.
    await page.selectOption('#speed', '8');
    await page.click('#btn-play');
    await expect.poll(async () => (await replay(page)).state, { timeout: 5000 }).toBe('ended');
    expect((await replay(page)).positionMs).toBe(3500);
    expect(await pixel(page, 5, 5)).toEqual(BLUE);
    expect(await page.textContent('#time')).toBe('0:03.5 / 0:03.5');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('plays in real time and pauses', async () => {
    const { page } = await open(`node=${NODE}&token=${TOKEN}&recording=${GOOD_ID}`);
    await page.click('#btn-play');
    expect((await replay(page)).state).toBe('playing');
    await expect.poll(() => pixel(page, 5, 5), { timeout: 5000 }).toEqual(GREEN);
    await page.click('#btn-play');
    const st = await replay(page);
    expect(st.state).toBe('paused');
    expect(st.positionMs).toBeGreaterThanOrEqual(2000);
    expect(st.positionMs).toBeLessThan(3500);
    // Paused stays put.
    await new Promise((r) => setTimeout(r, 300));
    expect((await replay(page)).positionMs).toBe(st.positionMs);
    await page.close();
  });

  it('sends the token as a bearer token for admin=1', async () => {
    const { page } = await open(`node=${NODE}&token=${TOKEN}&recording=${GOOD_ID}&admin=1`);
    expect((await replay(page)).state).toBe('ready');
    expect(seen.at(-1)).toEqual({ id: GOOD_ID, token: null, auth: `Bearer ${TOKEN}` });
    await page.close();
  });

  it('shows the proxy refusal: an altered recording (422), a wrong token (403), a missing one (404)', async () => {
    for (const [hash, title, detail] of [
      [
        `node=${NODE}&token=${TOKEN}&recording=${ALTERED_ID}`,
        'This recording cannot be trusted',
        'the recording was altered: its HMAC does not match the proxy key',
      ],
      [
        `node=${NODE}&token=wrong-token-000&recording=${GOOD_ID}`,
        'Access to this recording was refused',
        'the token does not give access to this recording',
      ],
      [
        `node=${NODE}&token=${TOKEN}&recording=20261206T160000Z-node-7-00000000`,
        'Recording not found',
        'no such recording',
      ],
    ] as const) {
      const { page, errors } = await open(hash);
      const st = await replay(page);
      expect(st.state).toBe('error');
      expect(st.error).toBe(`${title}: ${detail}`);
      expect(await page.isVisible('#overlay')).toBe(true);
      expect(await page.textContent('#overlay-title')).toBe(title);
      expect(await page.textContent('#overlay-detail')).toBe(detail);
      expect(await page.isDisabled('#btn-play')).toBe(true);
      if (title.includes('trusted')) await page.screenshot({ path: join(SHOTS, 'replay-altered.png') });
      expect(errors).toEqual([]);
      await page.close();
    }
  });

  it('says when a recording cannot be shown (not 32 bpp true colour) or the link names none', async () => {
    const { page } = await open(`node=${NODE}&token=${TOKEN}&recording=${SMALL_ID}`);
    const st = await replay(page);
    expect(st.state).toBe('error');
    expect(st.error).toMatch(/^This recording cannot be shown: .*16 bpp.*32 bpp true colour/);
    await page.close();
    const { page: bad } = await open(`node=${NODE}&token=${TOKEN}&recording=../../etc/passwd`);
    expect((await replay(bad)).error).toBe('This link names no valid recording');
    await bad.close();
  });
});
