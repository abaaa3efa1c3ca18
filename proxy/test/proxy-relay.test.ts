// The proxy between a websocket client and a real x11vnc on a real Xvfb, with a fake agent for tokens.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RfbClient } from '@bmc-console/common/rfb/client';
import {
  setRootColour,
  startX11vnc,
  startXvfb,
  untilPixel,
  type TestDisplay,
  type TestVnc,
} from '@bmc-console/common/testing/rfb-display';
import { startProxy, type RunningProxy } from '../src/server.js';
import { captureLogs } from './log-capture.js';
import { startFakeAgent, type FakeAgent } from './fake-agent.js';
import { startWsBridge } from './ws-bridge.js';
import { closed, tryUpgrade } from './ws-upgrade.js';

const NODE = '1be26c0b-03f2-4d2e-ae87-c02d7f33c123';
const OTHER = '9a1f0f5e-6b7d-4c55-9d2f-5b0a5c3d2e11';
const VNC_PASSWORD = 'c0ns0le!';

let xvfb: TestDisplay;
let vnc: TestVnc;
let lockedVnc: TestVnc;
let agent: FakeAgent;
let proxy: RunningProxy;
const logs = captureLogs();
const logLines = logs.lines;

beforeAll(async () => {
  xvfb = await startXvfb(320, 240);
  setRootColour(xvfb.display, '#20a040');
  [vnc, lockedVnc, agent] = await Promise.all([
    startX11vnc(xvfb.display),
    startX11vnc(xvfb.display, { password: VNC_PASSWORD }),
    startFakeAgent(),
  ]);
  proxy = await startProxy(
    {
      port: 0,
      agentUrl: agent.url,
      limits: { reverifyIntervalSec: 0.2, maxPayloadBytes: 64 * 1024, maxSessionsPerNode: 3, failedTokenBurst: 100 },
    },
    { logger: logs.logger },
  );
});

afterAll(async () => {
  await proxy?.close();
  await Promise.all([vnc?.stop(), lockedVnc?.stop(), agent?.close()]);
  await xvfb?.stop();
});

const wsUrl = (node: string, token: string) =>
  `${proxy.url.replace(/^http/, 'ws')}/websockify?node=${node}&token=${encodeURIComponent(token)}`;
const origin = () => ({ Origin: proxy.url });

/** A raw websocket with the proxy's own Origin unless told otherwise. */
const upgrade = (url: string, headers: Record<string, string> = origin()) => tryUpgrade(url, headers);

describe('console proxy relay (real x11vnc, fake agent)', () => {
  it('relays RFB to the console the token names: the colour on the X screen arrives', async () => {
    const token = agent.issue({ node: NODE, host: '127.0.0.1', port: vnc.port });
    const bridge = await startWsBridge(wsUrl(NODE, token), origin());
    const client = await RfbClient.connect({ host: '127.0.0.1', port: bridge.port });
    expect([client.width, client.height]).toEqual([320, 240]);
    expect(await untilPixel(client, 100, 50, [32, 160, 64])).toEqual([32, 160, 64]);
    expect(proxy.sessionCount()).toBe(1);
    client.close();
    await bridge.close();
    for (let i = 0; i < 100 && proxy.sessionCount() > 0; i++) await new Promise((r) => setTimeout(r, 20));
    const end = logLines.find((l) => l.event === 'session-end' && l.node === NODE);
    // The audit line names the token by fingerprint (first 12 hex chars of its SHA-256), never by value.
    const tokenId = createHash('sha256').update(token).digest('hex').slice(0, 12);
    expect(end).toMatchObject({ node: NODE, source: '127.0.0.1', closeCode: 1000, tokenId });
    expect(logLines.find((l) => l.event === 'session-start' && l.node === NODE)).toMatchObject({ tokenId });
    expect(end?.bytesToBrowser as number).toBeGreaterThan(320 * 240 * 4);
    expect(end?.bytesToConsole as number).toBeGreaterThan(12);
    expect(JSON.stringify(logLines)).not.toContain(token);
    const metrics = await (await fetch(`${proxy.url}/metrics`)).text();
    expect(metrics).toMatch(/bmc_proxy_sessions_total \d+/);
    expect(metrics).toMatch(/bmc_proxy_bytes_total\{direction="to_browser"\} \d{6,}/);
  });

  it('authenticates to a password-protected console itself and offers the viewer security None', async () => {
    const token = agent.issue({ node: NODE, host: '127.0.0.1', port: lockedVnc.port, vncPassword: VNC_PASSWORD });
    const bridge = await startWsBridge(wsUrl(NODE, token), origin());
    // No password on the viewer side: the proxy did VNC auth toward x11vnc.
    const client = await RfbClient.connect({ host: '127.0.0.1', port: bridge.port });
    expect(await untilPixel(client, 200, 100, [32, 160, 64])).toEqual([32, 160, 64]);
    client.close();
    await bridge.close();
    expect(JSON.stringify(logLines)).not.toContain(VNC_PASSWORD);
  });

  it('does not accept a VNC password from the viewer (only None is offered)', async () => {
    const token = agent.issue({ node: NODE, host: '127.0.0.1', port: lockedVnc.port, vncPassword: VNC_PASSWORD });
    const { ws } = await upgrade(wsUrl(NODE, token));
    if (!ws) throw new Error('upgrade refused');
    const received: Buffer[] = [];
    ws.on('message', (d: Buffer) => received.push(d));
    const done = closed(ws);
    await new Promise<void>((r) => ws.once('message', () => r()));
    expect(Buffer.concat(received).toString('latin1')).toBe('RFB 003.008\n');
    ws.send(Buffer.from('RFB 003.008\n'));
    await new Promise<void>((r) => ws.once('message', () => r()));
    expect([...Buffer.concat(received).subarray(12)]).toEqual([1, 1]); // one type: None
    ws.send(Buffer.from([2])); // the viewer insists on VNC auth
    const { code } = await done;
    expect(code).toBe(4400);
    expect(Buffer.concat(received).subarray(14).toString('latin1')).toMatch(/only security type None is offered/);
  });

  it("closes with 4504 when the console rejects the proxy's VNC password", async () => {
    const token = agent.issue({ node: NODE, host: '127.0.0.1', port: lockedVnc.port, vncPassword: 'wrong-pw' });
    const { ws } = await upgrade(wsUrl(NODE, token));
    if (!ws) throw new Error('upgrade refused');
    expect(await closed(ws)).toEqual({ code: 4504, reason: 'proxy could not authenticate to the console' });
  });

  it('refuses bad, expired, revoked and other-node tokens, foreign origins and malformed requests before the handshake', async () => {
    const good = agent.issue({ node: NODE, host: '127.0.0.1', port: vnc.port });
    const expired = agent.issue({
      node: NODE,
      host: '127.0.0.1',
      port: vnc.port,
      expiresAt: new Date(Date.now() - 1000),
    });
    const revoked = agent.issue({ node: NODE, host: '127.0.0.1', port: vnc.port, revoked: true });
    const cases: Array<[string, Record<string, string> | undefined, number, RegExp]> = [
      [wsUrl(NODE, 'not-a-real-token-at-all'), undefined, 403, /token unknown/],
      [wsUrl(NODE, expired), undefined, 403, /token expired/],
      [wsUrl(NODE, revoked), undefined, 403, /token revoked/],
      [wsUrl(OTHER, good), undefined, 403, /token wrong-node/],
      [wsUrl(NODE, good), { Origin: 'https://evil.example' }, 403, /Origin https:\/\/evil.example is not allowed/],
      [wsUrl(NODE, good), { Origin: proxy.url.replace('http:', 'https:') }, 403, /not allowed/],
      [wsUrl(NODE, good), { Origin: 'null' }, 403, /Origin/],
      [`${proxy.url.replace(/^http/, 'ws')}/websockify?token=${good}`, undefined, 400, /node is missing/],
      [
        `${proxy.url.replace(/^http/, 'ws')}/websockify?node=${NODE}&host=10.0.0.1&port=22`,
        undefined,
        400,
        /token is missing/,
      ],
      [`${proxy.url.replace(/^http/, 'ws')}/other?node=${NODE}&token=${good}`, undefined, 404, /\/websockify/],
    ];
    for (const [url, headers, status, body] of cases) {
      const r = await upgrade(url, headers ?? origin());
      expect({ url, status: r.status }).toEqual({ url, status });
      expect(r.body).toMatch(body);
    }
    const metrics = await (await fetch(`${proxy.url}/metrics`)).text();
    for (const reason of [
      'token-unknown',
      'token-expired',
      'token-revoked',
      'token-wrong-node',
      'origin',
      'bad-request',
      'not-found',
    ]) {
      expect(metrics).toMatch(new RegExp(`bmc_proxy_rejections_total\\{reason="${reason}"\\} [1-9]`));
    }
    expect(JSON.stringify(logLines)).not.toContain(good);
  });

  it('answers 503 while the agent is broken, and recovers', async () => {
    const token = agent.issue({ node: NODE, host: '127.0.0.1', port: vnc.port });
    agent.broken = true;
    try {
      expect((await upgrade(wsUrl(NODE, token))).status).toBe(503);
    } finally {
      agent.broken = false;
    }
    const r = await upgrade(wsUrl(NODE, token));
    expect(r.status).toBe(101);
    r.ws?.close();
  });

  it('closes on a text frame (1003) and on an oversize message (1009)', async () => {
    const token = agent.issue({ node: NODE, host: '127.0.0.1', port: vnc.port });
    const a = await upgrade(wsUrl(NODE, token));
    if (!a.ws) throw new Error('upgrade refused');
    const aClosed = closed(a.ws);
    a.ws.send('RFB 003.008\n');
    expect((await aClosed).code).toBe(1003);
    const b = await upgrade(wsUrl(NODE, token));
    if (!b.ws) throw new Error('upgrade refused');
    const bClosed = closed(b.ws);
    b.ws.send(Buffer.alloc(64 * 1024 + 1));
    expect((await bClosed).code).toBe(1009);
  });

  it('closes a live session when its token expires (4401) or is revoked (4403)', async () => {
    const expiring = agent.issue({ node: NODE, host: '127.0.0.1', port: vnc.port, ttlMs: 1500 });
    const revoking = agent.issue({ node: NODE, host: '127.0.0.1', port: vnc.port });
    const a = await upgrade(wsUrl(NODE, expiring));
    const b = await upgrade(wsUrl(NODE, revoking));
    if (!a.ws || !b.ws) throw new Error('upgrade refused');
    const aClosed = closed(a.ws);
    const bClosed = closed(b.ws);
    const grant = agent.grants.get(revoking);
    if (grant) grant.revoked = true;
    expect(await bClosed).toEqual({ code: 4403, reason: 'console access was revoked' });
    expect(await aClosed).toEqual({ code: 4401, reason: 'console access token expired' });
  });

  it('enforces the per-node session limit', async () => {
    const token = agent.issue({ node: OTHER, host: '127.0.0.1', port: vnc.port });
    const open = await Promise.all([1, 2, 3].map(() => upgrade(wsUrl(OTHER, token))));
    expect(open.map((o) => o.status)).toEqual([101, 101, 101]);
    const fourth = await upgrade(wsUrl(OTHER, token));
    expect(fourth.status).toBe(429);
    expect(fourth.body).toMatch(/node limit/);
    for (const o of open) o.ws?.close();
  });

  it('tells the viewer about its token without revealing the target', async () => {
    const token = agent.issue({
      node: NODE,
      host: '127.0.0.1',
      port: lockedVnc.port,
      vncPassword: VNC_PASSWORD,
      readOnly: true,
    });
    const ask = async (node: string, t: string) =>
      (
        await fetch(`${proxy.url}/api/token-status`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', origin: proxy.url },
          body: JSON.stringify({ node, token: t }),
        })
      ).json() as Promise<Record<string, unknown>>;
    const ok = await ask(NODE, token);
    expect(ok).toMatchObject({ valid: true, readOnly: true });
    expect(Object.keys(ok).sort()).toEqual(['expiresAt', 'readOnly', 'valid']);
    expect(await ask(OTHER, token)).toEqual({ valid: false, reason: 'wrong-node' });
    const foreign = await fetch(`${proxy.url}/api/token-status`, {
      method: 'POST',
      headers: { origin: 'https://evil.example' },
      body: '{}',
    });
    expect(foreign.status).toBe(403);
  });

  it('serves the viewer with a strict CSP and refuses // paths', async () => {
    const res = await fetch(`${proxy.url}/vnc_auto.html?path=websockify%3Fnode%3Dx%26token%3Dy`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("connect-src 'self'");
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(await res.text()).toContain('/static/viewer.js');
    expect((await fetch(`${proxy.url}/novnc/core/rfb.js`)).status).toBe(200);
    expect((await fetch(`${proxy.url}/novnc/core/../../package.json`)).status).toBe(404);
    expect((await fetch(`${proxy.url}/static/../src/server.ts`)).status).toBe(404);
  });
});
