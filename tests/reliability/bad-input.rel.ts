/**
 * Bad input on real components: floods of wrong tokens against the proxy (as its own process, memory watched),
 * malformed upgrades, slowloris, oversize/text/fragmented frames and garbage RFB while a good viewer keeps watching,
 * an invalid console environment (message on the console's screen and in its log), invalid agent input, and Redfish
 * answers that are not Redfish (HTML, junk, foreign redirects, TLS errors, 500s, timeouts).
 */
import { randomBytes } from 'node:crypto';
import { createServer, get as httpGet, type Server } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { RunningEmulator } from '@bmc-console/bmc-emulator/emulator';
import { captureFrame } from '@bmc-console/common/rfb/client';
import { loadConfig } from '@bmc-console/host-agent/config';
import { FileTokenStore } from '@bmc-console/host-agent/tokens/file-token-store';
import { main as detectMain } from 'bmc-console/commands/detect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleImageMissing, CONSOLE_IMAGE } from '../src/preconditions.js';
import { containerLogs, podman } from './lib/podman.js';
import { startProxyProcess, type ProxyProcess } from './lib/proxy-process.js';
import { record, REL_OUT } from './lib/record.js';
import { REL_PASSWORD, screenText, startRelStack, type RelStack } from './lib/rel-stack.js';
import { SIZES } from './lib/sizes.js';
import { sleep, until } from '../src/until.js';
import { openWs, tokenOf, WsViewer, wsUrlOf } from './lib/ws-viewer.js';

const skip = consoleImageMissing();
if (skip) console.warn(`skipping the bad-input reliability tests: ${skip}`);

/** Sends raw bytes to the proxy and returns the first line it answers (or how the connection ended). */
function rawRequest(port: number, data: string | Buffer, waitMs = 5000): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    const done = (why: string) => {
      s.destroy();
      resolve(got ? got.split('\r\n')[0]! : why);
    };
    const t = setTimeout(() => done('no answer (still open)'), waitMs);
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (got.includes('\r\n')) {
        clearTimeout(t);
        done('');
      }
    });
    s.on('error', () => {
      clearTimeout(t);
      done('connection reset');
    });
    s.on('close', () => {
      clearTimeout(t);
      done('closed without an answer');
    });
    s.write(data);
  });
}

function healthz(base: string): Promise<number> {
  return new Promise((resolve) => {
    const req = httpGet(`${base}/healthz`, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.setTimeout(5000, () => req.destroy());
  });
}

describe.skipIf(skip)('bad input', () => {
  let stack: RelStack;
  let emu: RunningEmulator;
  let proxy: ProxyProcess;
  let good: WsViewer;
  let validUrl: string;
  const B = 'rel-b-one';
  const errors: string[] = [];

  const freshUrl = async () => wsUrlOf((await stack.agent.url(B)).url, proxy.url);

  beforeAll(async () => {
    stack = await startRelStack('bad-input');
    emu = await stack.emulator('xcc', { node: B, password: REL_PASSWORD });
    await stack.startConsole(B, emu);
    proxy = await startProxyProcess(
      ['--agent-url', stack.agentUrl, '--max-sessions-per-source', '64', '--reverify-interval', '1'],
      join(REL_OUT, 'logs', 'bad-input-proxy.log'),
    );
    validUrl = await freshUrl();
    good = await WsViewer.open(validUrl);
    good.stream(500);
  });
  afterAll(async () => {
    good?.close();
    await proxy?.stop();
    await stack?.close();
    await podman(['rm', '--force', '--time', '0', `bmc-console-rel-badenv-${process.pid}`]).catch(() => undefined);
  });

  it('random, expired, revoked, other-node and malformed tokens: none accepted, proxy memory stable', async () => {
    const target = { host: '127.0.0.1', port: 1, readOnly: false, record: false };
    const claims = { role: 'control', exclusive: false } as const;
    // Real tokens of the agent's own store: expired (1 s lifetime), revoked (node stopped), issued for another node.
    const shortLived = new FileTokenStore(stack.agent.store, 1);
    const expired = await Promise.all(
      Array.from({ length: 5 }, () => shortLived.issue(B, target, claims).then((t) => t.token)),
    );
    const revoked = await Promise.all(
      Array.from({ length: 5 }, () => stack.agent.tokens.issue('rel-b-gone', target, claims).then((t) => t.token)),
    );
    await stack.agent.tokens.revoke('rel-b-gone');
    const otherNode = await Promise.all(
      Array.from({ length: 5 }, () => stack.agent.tokens.issue('rel-b-other', target, claims).then((t) => t.token)),
    );
    await sleep(1500);
    const ws = proxy.url.replace(/^http/, 'ws');
    const kinds = [
      'random',
      'random',
      'random',
      'random',
      'random',
      'random',
      'expired',
      'revoked',
      'other-node',
      'malformed',
    ] as const;
    const attempt = (i: number): { kind: string; url: string } => {
      const kind = kinds[i % kinds.length]!;
      const pick = (a: string[]) => a[i % a.length]!;
      switch (kind) {
        case 'random':
          return {
            kind,
            url: `${ws}/websockify?node=${i % 2 ? B : `rel-rand-${i}`}&token=${randomBytes(24 + (i % 16)).toString('base64url')}`,
          };
        case 'expired':
          return { kind, url: `${ws}/websockify?node=${B}&token=${pick(expired)}` };
        case 'revoked':
          return { kind, url: `${ws}/websockify?node=rel-b-gone&token=${pick(revoked)}` };
        case 'other-node':
          return { kind, url: `${ws}/websockify?node=${B}&token=${pick(otherNode)}` };
        default:
          return {
            kind,
            url: `${ws}/websockify?node=${i % 3 ? B : '..%2F..'}&token=${['', 'short', '%00%00%00%00%00%00%00%00%00', 'x'.repeat(600), "<script>'"][i % 5]}`,
          };
      }
    };
    const accepted: string[] = [];
    const statuses = new Map<string, number>();
    let next = 0;
    const total = SIZES.badTokens;
    const runBatch = async (upTo: number) => {
      const worker = async () => {
        while (next < upTo) {
          const a = attempt(next++);
          try {
            const sock = await openWs(a.url, 15_000);
            accepted.push(a.kind);
            sock.terminate();
          } catch (err) {
            const st = (err as { status?: number }).status;
            const key = `${a.kind} -> ${st ?? (err as Error).message}`;
            statuses.set(key, (statuses.get(key) ?? 0) + 1);
          }
        }
      };
      await Promise.all(Array.from({ length: 16 }, worker));
    };
    // Control: a valid token is accepted by the same path.
    const control = await openWs(await freshUrl());
    control.terminate();
    // The bound is on V8's heap after a forced full collection (what a leak of sockets, timers or session objects
    // grows); RSS is reported beside it but follows V8's lazy heap sizing over a few seconds, not leaks.
    const warmup = Math.max(Math.floor(total / 3), 10_000);
    const end = Math.max(total, 2 * warmup);
    await runBatch(warmup);
    await sleep(2000);
    const rss0 = proxy.rssKiB();
    const heap0 = await proxy.heapAfterGcKiB();
    const samples: number[] = [];
    const t0 = Date.now();
    for (let k = 1; k <= 4; k++) {
      await runBatch(warmup + Math.floor(((end - warmup) * k) / 4));
      samples.push(await proxy.heapAfterGcKiB());
    }
    const seconds = (Date.now() - t0) / 1000;
    await sleep(2000);
    const rss1 = proxy.rssKiB();
    const heap1 = await proxy.heapAfterGcKiB();
    const growth = (heap1 - heap0) / heap0;
    // The flood used up this address's failed-token budget; the next rows need it back (it refills at
    // --failed-token-per-minute, default 10 a minute), as a viewer would after waiting.
    await until(
      "this address's failed-token budget to refill",
      async () => {
        const r = await fetch(`${proxy.url}/api/token-status`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', origin: proxy.url },
          body: JSON.stringify({ node: B, token: new URL(validUrl).searchParams.get('token') }),
        });
        return r.status !== 429;
      },
      60_000,
      1000,
    );
    const alive = await good.alive();
    const summary = [...statuses.entries()]
      .sort()
      .map(([k, v]) => `${k}: ${v}`)
      .join('; ');
    record({
      test: 'random, expired, revoked, other-node and malformed tokens: none accepted, proxy memory stable',
      area: 'bad input',
      tried: `${end} websocket upgrades with bad tokens (60% random, 10% each expired/revoked/other-node/malformed), 16 at a time; a valid token as control`,
      held: `accepted: ${accepted.length}; answers: ${summary}; ${((end - warmup) / seconds).toFixed(0)}/s; proxy heap after a full GC ${(heap0 / 1024).toFixed(2)} MiB after ${warmup} attempts, then ${samples.map((x) => (x / 1024).toFixed(2)).join(' / ')} MiB at each further quarter, ${(heap1 / 1024).toFixed(2)} MiB at the end (${(growth * 100).toFixed(1)}%, bound 5%); RSS ${(rss0 / 1024).toFixed(0)} -> ${(rss1 / 1024).toFixed(0)} MiB; good viewer ${alive ? 'still live' : 'DEAD'}`,
      ...(growth >= 0.05
        ? {
            known: `proxy (proxy/src/server.ts and its upgrade path): the heap keeps ${(((heap1 - heap0) * 1024) / (end - warmup || 1)).toFixed(0)} bytes per refused upgrade after warm-up: take a heap snapshot (the proxy runs with a loopback inspector here)`,
          }
        : {}),
    });
    expect(accepted).toEqual([]);
    expect(growth).toBeLessThan(0.05);
    expect(alive).toBe(true);
  });

  it('malformed HTTP upgrades are refused and the proxy keeps serving', async () => {
    const port = Number(new URL(proxy.url).port);
    const { token } = tokenOf((await stack.agent.url(B)).url);
    const q = `/websockify?node=${B}&token=${token}`;
    const ws =
      'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';
    const cases: [string, string | Buffer][] = [
      [
        'valid token, no Sec-WebSocket-Key',
        `GET ${q} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ],
      [
        'valid token, Sec-WebSocket-Version 7',
        `GET ${q} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 7\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
      ],
      ['valid token, foreign Origin', `GET ${q} HTTP/1.1\r\nHost: x\r\nOrigin: https://evil.example\r\n${ws}\r\n`],
      ['POST upgrade', `POST ${q} HTTP/1.1\r\nHost: x\r\n${ws}Content-Length: 0\r\n\r\n`],
      ['//host path', `GET //evil.example/websockify HTTP/1.1\r\nHost: x\r\n${ws}\r\n`],
      ['path traversal', `GET /websockify/../../etc/passwd HTTP/1.1\r\nHost: x\r\n${ws}\r\n`],
      ['20 KiB header', `GET ${q} HTTP/1.1\r\nHost: x\r\nX-Junk: ${'a'.repeat(20_000)}\r\n${ws}\r\n`],
      ['binary garbage', randomBytes(512)],
      ['TLS ClientHello on plain HTTP', Buffer.from('16030100a5010000a10303', 'hex')],
      ['HTTP/0.9 request line', 'GET /websockify\r\n\r\n'],
      ['NUL in the request line', `GET /websockify?node=${B}\u0000&token=${token} HTTP/1.1\r\nHost: x\r\n${ws}\r\n`],
    ];
    const answers: string[] = [];
    for (const [name, data] of cases) answers.push(`${name}: ${await rawRequest(port, data)}`);
    // Ten refused handshakes with a valid token must not use up the node's session slots (limit 4 per node).
    for (let i = 0; i < 10; i++) await rawRequest(port, cases[0]![1]);
    let after = 'live';
    try {
      const v = await WsViewer.open(await freshUrl());
      after = (await v.alive()) ? 'live' : 'no picture';
      v.close();
    } catch (err) {
      after = `refused: ${(err as Error).message}`;
      errors.push((err as Error).message);
    }
    const upgraded = answers.filter((a) => / 101 /.test(a));
    const goodAlive = await good.alive();
    const health = await healthz(proxy.url);
    const leak = after !== 'live';
    record({
      test: 'malformed HTTP upgrades are refused and the proxy keeps serving',
      area: 'bad input',
      tried: `${cases.length} malformed requests, then 10 more key-less upgrades with a valid token`,
      held: `${answers.join('; ')}. Upgraded: ${upgraded.length}. New session for the same node afterwards: ${after}; good viewer ${goodAlive ? 'live' : 'DEAD'}; /healthz ${health}`,
      ...(leak
        ? {
            known:
              'proxy/src/server.ts: a slot is acquired before wss.handleUpgrade; when ws refuses the handshake (no key, wrong version) the callback never runs and the slot is never released, so a few malformed upgrades with a valid token lock the node out (429)',
          }
        : {}),
    });
    expect(upgraded).toEqual([]);
    expect(goodAlive).toBe(true);
    expect(health).toBe(200);
    expect(after).toBe('live');
  });

  it('slowloris: half-sent requests do not stop other viewers', async () => {
    const port = Number(new URL(proxy.url).port);
    const sockets = Array.from({ length: SIZES.slowloris }, () => {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => {});
      s.write(`GET /websockify?node=${B}&token=slowslowslow HTTP/1.1\r\nHost: x\r\n`);
      return s;
    });
    const drip = setInterval(() => {
      for (const s of sockets) if (s.writable) s.write('X-a: b\r\n');
    }, 1000);
    await sleep(5000);
    let during = 'live';
    try {
      const v = await WsViewer.open(await freshUrl());
      during = (await v.alive()) ? 'live' : 'no picture';
      v.close();
    } catch (err) {
      during = `refused: ${(err as Error).message}`;
    }
    const goodAlive = await good.alive();
    const health = await healthz(proxy.url);
    await sleep(5000);
    clearInterval(drip);
    const stillOpen = sockets.filter((s) => !s.destroyed).length;
    for (const s of sockets) s.destroy();
    record({
      test: 'slowloris: half-sent requests do not stop other viewers',
      area: 'bad input',
      tried: `${sockets.length} connections sending one header line a second for 10 s`,
      held: `new viewer during the attack: ${during}; good viewer ${goodAlive ? 'live' : 'DEAD'}; /healthz ${health}; ${stillOpen} slow connections still open after 10 s (Node's headersTimeout is 60 s)`,
    });
    expect(during).toBe('live');
    expect(goodAlive).toBe(true);
  });

  it('oversize, text and fragmented frames and garbage RFB from the browser side', async () => {
    const out: string[] = [];
    // Oversize: one 2 MiB binary message (the limit is 1 MiB).
    const big = await WsViewer.open(await freshUrl());
    big.send(Buffer.alloc(2 * 1024 * 1024, 0x41));
    const bigClosed = await big.waitClosed(15_000);
    out.push(`2 MiB frame: closed ${bigClosed?.code ?? 'NOT'} ${bigClosed?.reason ?? ''}`);
    // Text frame where RFB bytes belong.
    const text = await WsViewer.open(await freshUrl());
    text.send('hello, this is text', { binary: false });
    const textClosed = await text.waitClosed(15_000);
    out.push(`text frame: closed ${textClosed?.code ?? 'NOT'} ${textClosed?.reason ?? ''}`);
    // Fragmented: the whole handshake sent one byte per frame, as continuation frames of each message.
    let fragmented = 'live';
    try {
      const f = await WsViewer.open(await freshUrl(), { fragment: true });
      fragmented = (await f.alive()) ? 'live' : 'no picture';
      f.close();
    } catch (err) {
      fragmented = `failed: ${(err as Error).message}`;
    }
    out.push(`handshake in 1-byte fragments: ${fragmented}`);
    // Garbage during the handshake: not an RFB version.
    const g1 = await openWs(await freshUrl());
    const g1Closed = await new Promise<string>((resolve) => {
      g1.on('close', (c, r) => resolve(`${c} ${r.toString()}`));
      g1.once('message', () => g1.send(Buffer.from('HELLO WORLD!\n')));
      setTimeout(() => resolve('NOT closed'), 15_000);
    });
    out.push(`garbage version: closed ${g1Closed}`);
    // Garbage after the handshake: random client messages (the console's x11vnc decides what to do with them).
    const g2 = await WsViewer.open(await freshUrl());
    for (let i = 0; i < 8; i++) g2.send(randomBytes(4096));
    const g2Closed = await g2.waitClosed(10_000);
    out.push(
      `64 KiB of random client messages: ${g2Closed ? `closed ${g2Closed.code} ${g2Closed.reason}` : 'session still open'}`,
    );
    g2.close();
    const goodAlive = await good.alive();
    let fresh = 'live';
    try {
      const v = await WsViewer.open(await freshUrl());
      fresh = (await v.alive()) ? 'live' : 'no picture';
      v.close();
    } catch (err) {
      fresh = `refused: ${(err as Error).message}`;
    }
    record({
      test: 'oversize, text and fragmented frames and garbage RFB from the browser side',
      area: 'bad input',
      tried: '2 MiB frame, text frame, 1-byte fragments, non-RFB version, random client messages',
      held: `${out.join('; ')}; good viewer ${goodAlive ? 'live' : 'DEAD'}; new session afterwards ${fresh}`,
    });
    expect(bigClosed?.code).toBe(1009);
    expect(textClosed).toBeDefined();
    expect(fragmented).toBe('live');
    expect(g1Closed).not.toBe('NOT closed');
    expect(goodAlive).toBe(true);
    expect(fresh).toBe('live');
  });

  it('invalid APP_INFO and env values: clear error on the console screen and in its log', async () => {
    const name = `bmc-console-rel-badenv-${process.pid}`;
    const appInfo = JSON.stringify({
      address: 'ftp://bmc.example',
      username: '',
      password: REL_PASSWORD,
      verify_ca: 'perhaps',
    });
    // Secret values by environment only (`--env NAME` reads the CLI's environment), never argv.
    await podman(
      [
        'run',
        '--detach',
        '--rm',
        '--init',
        '--name',
        name,
        '--publish',
        '127.0.0.1::5900',
        '--env',
        'APP=redfish-graphical',
        '--env',
        'APP_INFO',
        '--env',
        'DISPLAY_WIDTH=wide',
        '--env',
        'READ_ONLY=perhaps',
        CONSOLE_IMAGE,
      ],
      { env: { APP_INFO: appInfo } },
    );
    const { stdout } = await podman(['port', name, '5900/tcp']);
    const port = Number(/:(\d+)\s*$/m.exec(stdout.trim().split('\n')[0] ?? '')?.[1]);
    const seen = await until(
      'the error page on the console screen',
      async () => {
        const t = await screenText(await captureFrame({ host: '127.0.0.1', port, timeoutMs: 8000 }));
        return /not configured/.test(t) ? t : null;
      },
      300_000,
      2000,
    );
    const logs = await containerLogs(name);
    const line = logs.split('\n').find((l) => l.includes('invalid console environment')) ?? '';
    const msg = (JSON.parse(line || '{}') as { msg?: string }).msg ?? '';
    record({
      test: 'invalid APP_INFO and env values: clear error on the console screen and in its log',
      area: 'bad input',
      tried:
        'console container with APP_INFO {address ftp://, empty username, verify_ca "perhaps"}, DISPLAY_WIDTH=wide, READ_ONLY=perhaps',
      held: `screen (OCR): "${seen.slice(0, 300)}"; log: "${msg}"; password in logs: ${logs.includes(REL_PASSWORD)}`,
    });
    expect(msg).toMatch(/APP_INFO/);
    expect(msg).toMatch(/DISPLAY_WIDTH/);
    expect(logs).not.toContain(REL_PASSWORD);
    expect(seen).not.toContain(REL_PASSWORD.toLowerCase());
  });

  it('invalid agent input and configuration: errors name the field, never the password', async () => {
    const msgs: string[] = [];
    const bad: unknown[] = [
      { address: 'not a url', username: 'root', password: REL_PASSWORD },
      { address: 'https://10.0.2.2:1', username: 42, password: REL_PASSWORD },
      'APP_INFO as a string',
      { address: 'https://10.0.2.2:1', username: 'root', password: REL_PASSWORD, verify_ca: 42 },
    ];
    for (const appInfo of bad)
      await stack.agent.start({ node: 'rel-b-bad', appInfo }).catch((e: Error) => msgs.push(e.message));
    await stack.agent.start({ node: '../etc', appInfo: bad[0] }).catch((e: Error) => msgs.push(e.message));
    await stack.agent
      .start({ node: 'rel-b-bad', app: 'telnet', appInfo: bad[0] })
      .catch((e: Error) => msgs.push(e.message));
    for (const env of [
      { BMC_CONSOLE_AGENT_TOKEN_TIMEOUT: 'soon' },
      { BMC_CONSOLE_AGENT_PUBLIC_URL: 'not a url' },
      { BMC_CONSOLE_AGENT_CONTAINER_MEMORY: 'lots' },
    ])
      try {
        loadConfig({ env });
      } catch (e) {
        msgs.push((e as Error).message);
      }
    errors.push(...msgs);
    const addressNamed = /appInfo\.address/.test(msgs.join('\n'));
    record({
      test: 'invalid agent input and configuration: errors name the field, never the password',
      area: 'bad input',
      tried: `${bad.length} bad APP_INFO, a bad node id, a bad app, 3 bad agent env values`,
      held: msgs.join(' | '),
      ...(addressNamed
        ? {}
        : {
            known:
              'host-agent (validateStart / redfishAppInfoSchema in common/src/console-env.ts): appInfo.address "not a url" is accepted, a container is started and the start fails only after wait_for_ready_timeout with "did not answer with an RFB greeting", naming neither the field nor the cause',
          }),
    });
    expect(msgs).toHaveLength(bad.length + 5);
    for (const m of msgs) expect(m).not.toContain(REL_PASSWORD);
    expect(msgs.join('\n')).toMatch(/appInfo\.address/);
    expect(msgs.join('\n')).toMatch(/token_timeout/);
  });

  it('Redfish junk: HTML, broken JSON, foreign redirects, TLS errors, 500s and timeouts give readable errors', async () => {
    const servers: Server[] = [];
    const serve = async (handler: Parameters<typeof createServer>[1]): Promise<string> => {
      const s = createServer(handler);
      servers.push(s);
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      return `http://127.0.0.1:${(s.address() as { port: number }).port}`;
    };
    const html = await serve((_q, r) =>
      r.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Please log in</body></html>'),
    );
    const junk = await serve((_q, r) =>
      r.writeHead(200, { 'content-type': 'application/json' }).end('{"@odata.id": "/redfish/v1", "Systems": {'),
    );
    const redirect = await serve((_q, r) => r.writeHead(302, { location: 'https://evil.example/redfish/v1/' }).end());
    const slowEmu = await stack.emulator('idrac9', {
      node: 'rel-b-slow',
      password: REL_PASSWORD,
      faults: { slowMs: 4000 },
    });
    const failEmu = await stack.emulator('ilo6', {
      node: 'rel-b-fail',
      password: REL_PASSWORD,
      faults: { failPaths: ['/redfish/v1/Managers'] },
    });
    const cases: [string, string[]][] = [
      ['HTML instead of JSON', ['--url', html, '--username', 'root']],
      ['truncated JSON', ['--url', junk, '--username', 'root']],
      ['redirect to another host', ['--url', redirect, '--username', 'root']],
      [
        'self-signed certificate with verify_ca true',
        ['--url', emu.url, '--username', emu.username, '--verify-ca', 'true'],
      ],
      ['HTTP 500 on Managers', ['--url', failEmu.url, '--username', failEmu.username, '--verify-ca', 'false']],
      [
        'answer slower than --timeout 1',
        ['--url', slowEmu.url, '--username', slowEmu.username, '--verify-ca', 'false', '--timeout', '1'],
      ],
    ];
    const results: string[] = [];
    const codes: number[] = [];
    let leaked = false;
    for (const [name, argv] of cases) {
      let out = '';
      let err = '';
      const code = await detectMain(
        argv,
        { ...process.env, BMC_PASSWORD: REL_PASSWORD },
        { out: (t) => (out += t), err: (t) => (err += t) },
      );
      codes.push(code);
      leaked ||= (out + err).includes(REL_PASSWORD);
      results.push(`${name}: exit ${code}, "${err.trim().split('\n')[0]}"`);
      errors.push(err);
    }
    for (const s of servers) s.close();
    record({
      test: 'Redfish junk: HTML, broken JSON, foreign redirects, TLS errors, 500s and timeouts give readable errors',
      area: 'bad input',
      tried: `bmc-console detect against ${cases.length} bad BMCs (local HTTP servers, emulator faults)`,
      held: `${results.join('; ')}; password in any output: ${leaked}`,
    });
    // A 500 on Managers may be survivable (discovery then says less); everything else must be exit 3, BMC error.
    expect(codes.filter((_, i) => i !== 4).every((c) => c === 3)).toBe(true);
    expect([0, 3]).toContain(codes[4]);
    expect(leaked).toBe(false);
  });
});
