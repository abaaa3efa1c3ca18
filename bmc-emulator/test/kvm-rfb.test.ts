import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RfbClient } from '@bmc-console/common/rfb/client';
import { encodePng } from '@bmc-console/common/rfb/png';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../src/emulator.js';
import { kvmMarkerColor } from '../src/marker.js';
import { http, idracAnswer, wsUrl } from './helpers.js';
import { rawWs, startTcpBridge, type TcpBridge, type WsTarget } from './rfb-ws.js';

// The KVM sockets of OpenBMC, XCC3 and iDRAC9 speak real RFB in each vendor's dialect to a client that does not
// offer the emulator page's subprotocol: a plain RFB client reads the marker, OCRs the node, and its keys arrive.
const NODE = 'rfbnode42';
const running: RunningEmulator[] = [];
const bridges: TcpBridge[] = [];
afterAll(async () => {
  await Promise.all(bridges.map((b) => b.close()));
  await Promise.all(running.map((e) => e.close()));
});

async function emulator(vendor: 'openbmc' | 'xcc3' | 'idrac9'): Promise<RunningEmulator> {
  const e = await startEmulator({ vendor, node: NODE, password: 'Secret-pw1' });
  running.push(e);
  return e;
}

/** Text in an RGBA frame by Debian's tesseract, lower-cased with white space folded. */
async function ocr(frame: { width: number; height: number; rgba: Buffer }): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'emu-rfb-ocr-'));
  try {
    const file = join(dir, 'screen.png');
    writeFileSync(file, encodePng(frame));
    const { stdout } = await promisify(execFile)('tesseract', [file, 'stdout', '--psm', '11']);
    return stdout.toLowerCase().replace(/\s+/g, ' ');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function near(a: readonly number[], b: readonly number[], tol = 8): boolean {
  return a.every((v, i) => Math.abs(v - (b[i] ?? -999)) <= tol);
}

async function until(f: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** OpenBMC: Redfish session with X-Requested-With sets BMCWEB-SESSION + XSRF-TOKEN; the token is the subprotocol. */
async function obmcTarget(e: RunningEmulator): Promise<WsTarget> {
  const r = await http(`${e.url}/redfish/v1/SessionService/Sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'X-Requested-With': 'XMLHttpRequest' },
    body: JSON.stringify({ UserName: e.username, Password: e.password }),
  });
  expect(r.status).toBe(201);
  const xsrf = r.cookies['XSRF-TOKEN'] ?? '';
  return {
    url: wsUrl(e.url, '/kvm/0'),
    protocols: [xsrf],
    cookie: `BMCWEB-SESSION=${r.cookies['BMCWEB-SESSION']}; XSRF-TOKEN=${xsrf}`,
  };
}

/** XCC3: POST /login sets SESSION + XSRF-TOKEN; /kvm/0 on 443 as OpenBMC. */
async function xcc3Target(e: RunningEmulator): Promise<WsTarget> {
  const r = await http(`${e.url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ data: [e.username, e.password] }),
  });
  expect(r.status).toBe(200);
  const xsrf = r.cookies['XSRF-TOKEN'] ?? '';
  return {
    url: wsUrl(e.url, '/kvm/0'),
    protocols: [xsrf],
    cookie: `SESSION=${r.cookies.SESSION}; XSRF-TOKEN=${xsrf}`,
  };
}

/** iDRAC9: sysmgmt session, then the vconsole Location carries the one-shot VCSID pair. */
const idracLogins = new Map<RunningEmulator, Record<string, string>>();
async function idracTarget(e: RunningEmulator): Promise<{ target: WsTarget; vcsid2: string }> {
  let headers = idracLogins.get(e);
  if (!headers) {
    const s = await http(`${e.url}/sysmgmt/2015/bmc/session`, {
      method: 'POST',
      headers: { user: `"${e.username}"`, password: `"${e.password}"` },
    });
    expect(s.status).toBe(201);
    headers = {
      cookie: `-http-session-=${s.cookies['-http-session-']}`,
      'XSRF-TOKEN': String(s.headers['xsrf-token']),
    };
    idracLogins.set(e, headers);
  }
  const v = await http(`${e.url}/sysmgmt/2015/server/vconsole`, { headers });
  const loc = new URL(String(v.json().Location));
  const vcsid = loc.searchParams.get('VCSID') ?? '';
  return {
    target: { url: wsUrl(e.url, `/vnc/vconsole?vck=${vcsid}`), protocols: ['binary'] },
    vcsid2: loc.searchParams.get('VCSID2') ?? '',
  };
}

async function rfbClient(t: WsTarget): Promise<RfbClient> {
  const b = await startTcpBridge(t);
  bridges.push(b);
  return RfbClient.connect({ host: '127.0.0.1', port: b.port, timeoutMs: 5000 });
}

describe.each([
  ['openbmc', obmcTarget],
  ['xcc3', xcc3Target],
] as const)('%s /kvm/0 speaks obmc-ikvm RFB', (vendor, login) => {
  it('shows the marker and node, takes keys and clicks, and refuses a viewer over the cap', async () => {
    const e = await emulator(vendor);
    const t = await login(e);
    const c = await rfbClient(t);
    expect(c.name).toBe('OpenBMC IKVM');
    expect([c.width, c.height]).toEqual([1024, 768]);
    await c.requestUpdate(false);
    const m = kvmMarkerColor(vendor);
    expect(c.pixel(0, 0)).toEqual([m.r, m.g, m.b]);
    expect(c.pixel(63, 63)).toEqual([m.r, m.g, m.b]);
    expect(c.pixel(64, 64)).toEqual([0, 0, 0]);
    expect(await ocr({ width: c.width, height: c.height, rgba: c.framebuffer })).toContain(`node: ${NODE}`);

    await c.typeText('rfb 42');
    c.pointerEvent(300, 200, 1);
    c.pointerEvent(300, 200, 0);
    await until(() => e.state().typed === 'rfb 42' && e.state().clicks.length === 1);
    expect(e.state().clicks).toEqual([{ x: 300, y: 200 }]);
    expect(e.state().keys).toEqual(['r', 'f', 'b', ' ', '4', '2']);
    // Incremental updates bring the typed line; the screen reads it back.
    const end = Date.now() + 5000;
    let text = '';
    while (Date.now() < end) {
      await c.requestUpdate(true);
      text = await ocr({ width: c.width, height: c.height, rgba: c.framebuffer });
      if (text.includes('typed: rfb 42')) break;
    }
    expect(text).toContain('typed: rfb 42');
    expect(e.state().liveKvmSessions).toBe(1);

    const viewers = [c];
    try {
      while (viewers.length < e.state().maxKvmSessions) viewers.push(await rfbClient(t));
      expect(e.state().liveKvmSessions).toBe(e.state().maxKvmSessions);
      const busy = vendor === 'openbmc' ? 'Max sessions are already connected' : 'session full';
      await expect(rfbClient(t)).rejects.toThrow(busy);
    } finally {
      for (const x of viewers) x.close();
    }
    await until(() => e.state().liveKvmSessions === 0);
  });
});

describe('openbmc RFB edge cases', () => {
  it('refuses RFB 3.3 politely, honours a 16 bpp pixel format, closes on an unknown message type', async () => {
    const e = await emulator('openbmc');
    const t = await obmcTarget(e);
    const old = await rawWs(t);
    expect((await old.read(12)).toString('latin1')).toBe('RFB 003.008\n');
    old.send(Buffer.from('RFB 003.003\n', 'latin1'));
    expect(await old.u32()).toBe(0);
    expect((await old.read(await old.u32())).toString()).toMatch(/003\.008 only/);
    await old.closed;

    const bad = await rawWs(t);
    await bad.read(12);
    bad.send(Buffer.from('RFB 003.008\n', 'latin1'));
    expect([...(await bad.read(2))]).toEqual([1, 1]);
    bad.send([1]);
    expect(await bad.u32()).toBe(0);
    bad.send([1]);
    const init = await bad.read(24);
    await bad.read(init.readUInt32BE(20));
    // SetPixelFormat 16 bpp big-endian RGB565 is honoured: the magenta marker pixel is f8 1f.
    const spf = Buffer.alloc(20);
    spf.set([16, 16, 1, 1, 0, 31, 0, 63, 0, 31, 11, 5, 0], 4);
    bad.send(spf);
    bad.send([3, 0, 0, 0, 0, 0, 0, 1, 0, 1]);
    const upd = await bad.read(4 + 12 + 2);
    expect([upd[0], upd.readUInt16BE(2), upd.readUInt16BE(8), upd.readUInt16BE(10)]).toEqual([0, 1, 1, 1]);
    expect([...upd.subarray(16)]).toEqual([0xf8, 0x1f]);
    bad.send([99, 0, 0, 0]);
    expect((await bad.closed).code).toBe(1002);
    await until(() => e.state().liveKvmSessions === 0);
  });

  it('refuses every viewer with the busy message under the kvmBusy fault', async () => {
    const e = await emulator('openbmc');
    e.control({ kvmBusy: true });
    await expect(rfbClient(await obmcTarget(e))).rejects.toThrow('Max sessions are already connected');
  });
});

/** iDRAC: preamble, RFB 3.8 None, ServerInit; returns the raw socket at the normal phase and the announced init. */
async function idracSession(e: RunningEmulator) {
  const { target, vcsid2 } = await idracTarget(e);
  const w = await rawWs(target);
  const challenge = await w.read(2);
  expect([...challenge]).toEqual([0xf7, 0xb3]);
  w.send(idracAnswer(vcsid2)(challenge) ?? Buffer.alloc(0));
  expect((await w.read(12)).toString('latin1')).toBe('RFB 003.008\n');
  w.send(Buffer.from('RFB 003.008\n', 'latin1'));
  expect([...(await w.read(2))]).toEqual([1, 1]);
  w.send([1]);
  expect(await w.u32()).toBe(0);
  w.send([1]);
  const init = await w.read(24);
  const name = (await w.read(init.readUInt32BE(20))).toString();
  return { w, init, name };
}

/** Reads one FramebufferUpdate of RGB565 little-endian rectangles into `rgba` (1024 wide); returns the rectangles. */
async function readRgb565Update(w: Awaited<ReturnType<typeof rawWs>>, rgba: Buffer) {
  const head = await w.read(4);
  expect(head[0]).toBe(0);
  const rects: { x: number; y: number; w: number; h: number }[] = [];
  for (let i = 0; i < head.readUInt16BE(2); i++) {
    const h = await w.read(12);
    const r = { x: h.readUInt16BE(0), y: h.readUInt16BE(2), w: h.readUInt16BE(4), h: h.readUInt16BE(6) };
    expect(h.readInt32BE(8)).toBe(0);
    const px = await w.read(r.w * r.h * 2);
    for (let j = 0; j < r.w * r.h; j++) {
      const v = px.readUInt16LE(j * 2);
      const o = ((r.y + Math.floor(j / r.w)) * 1024 + r.x + (j % r.w)) * 4;
      rgba[o] = Math.round(((v >> 11) & 31) * (255 / 31));
      rgba[o + 1] = Math.round(((v >> 5) & 63) * (255 / 63));
      rgba[o + 2] = Math.round((v & 31) * (255 / 31));
      rgba[o + 3] = 255;
    }
    rects.push(r);
  }
  return rects;
}

describe('idrac9 /vnc/vconsole speaks iDRAC RFB', () => {
  it('sends RGB565 whatever it announced, takes keys, ignores vendor messages', async () => {
    const e = await emulator('idrac9');
    const { w, init, name } = await idracSession(e);
    expect(name).toBe('OpenVNC');
    expect([init.readUInt16BE(0), init.readUInt16BE(2)]).toEqual([1024, 768]);
    expect(init[4]).toBe(32); // announced 32 bpp: wrong on purpose
    // SetPixelFormat 32 bpp RGBX: iDRAC ignores it.
    const spf = Buffer.alloc(20);
    spf.set([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 0, 8, 16], 4);
    w.send(spf);
    w.send([247, 0, 0xf6]); // heartbeat
    w.send([3, 0, 0, 0, 0, 0, 4, 0, 3, 0]);
    const rgba = Buffer.alloc(1024 * 768 * 4);
    const full = await readRgb565Update(w, rgba);
    expect(full).toEqual([{ x: 0, y: 0, w: 1024, h: 768 }]);
    const m = kvmMarkerColor('idrac9');
    expect(near([rgba[0] ?? 0, rgba[1] ?? 0, rgba[2] ?? 0], [m.r, m.g, m.b])).toBe(true);
    expect(await ocr({ width: 1024, height: 768, rgba })).toContain(NODE);

    for (const ch of 'rfb 42') {
      const k = Buffer.from([4, 1, 0, 0, 0, 0, 0, ch.charCodeAt(0)]);
      w.send(k);
      k[1] = 0;
      w.send(k);
    }
    w.send([4, 1, 0, 0, 0, 0, 0xff, 0x0d]); // Return
    await until(() => e.state().typed === 'rfb 42\n');
    expect(e.state().keys.at(-1)).toBe('Enter');

    // Incremental: only what changed (typed line, clock), in small rectangles.
    w.send([3, 1, 0, 0, 0, 0, 4, 0, 3, 0]);
    const inc = await readRgb565Update(w, rgba);
    const area = inc.reduce((a, r) => a + r.w * r.h, 0);
    expect(area).toBeGreaterThan(0);
    expect(area).toBeLessThan((1024 * 768) / 4);
    expect(await ocr({ width: 1024, height: 768, rgba })).toContain('rfb 42');
    w.send([247, 0, 0xf9]); // window-close
    w.ws.close();
    await until(() => e.state().liveKvmSessions === 0);
  });

  it('admits a viewer over the cap as shared: 247 164 and no video', async () => {
    const e = await emulator('idrac9');
    const full = [];
    for (let i = 0; i < e.state().maxKvmSessions; i++) full.push(await idracSession(e));
    const extra = await idracSession(e);
    expect([...(await extra.w.read(2))]).toEqual([247, 164]);
    expect(e.state().sharedKvmSessions).toBe(1);
    extra.w.send([3, 0, 0, 0, 0, 0, 4, 0, 3, 0]);
    extra.w.send([4, 1, 0, 0, 0, 0, 0, 0x78]);
    await new Promise((r) => setTimeout(r, 400));
    expect(e.state().typed).toBe('');
    const got: Buffer[] = [];
    const more = extra.w.read(1).then(
      (b) => got.push(b),
      () => {},
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(got).toEqual([]);
    for (const s of [...full, extra]) s.w.ws.close();
    await more;
    await until(() => e.state().liveKvmSessions === 0 && e.state().sharedKvmSessions === 0);
  });

  it('closes a session whose viewer sends no heartbeat', async () => {
    const e = await emulator('idrac9');
    process.env.BMC_EMULATOR_IDRAC_HEARTBEAT_MS = '1200';
    try {
      const live = await idracSession(e);
      const silent = await idracSession(e);
      const beat = setInterval(() => live.w.send([247, 0, 0xf6]), 300);
      const t0 = Date.now();
      const { code } = await silent.w.closed;
      clearInterval(beat);
      expect(code).toBe(4000);
      expect(Date.now() - t0).toBeLessThan(3000);
      expect(live.w.ws.readyState).toBe(live.w.ws.OPEN);
      await until(() => e.state().liveKvmSessions === 1);
      live.w.ws.close();
    } finally {
      delete process.env.BMC_EMULATOR_IDRAC_HEARTBEAT_MS;
    }
  });
});
