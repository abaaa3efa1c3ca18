/**
 * x11vnc with the image's preload (image/x11vnc-preload/hooks.c, compiled here with the host's cc), real
 * Xvfb and real RFB clients: viewers are reported as they answer the greeting and leave, a readiness probe (greeting
 * read, nothing sent) never counts, and a WebSocket handshake gets RFB. Skips, saying why, without a C compiler.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@bmc-console/common/log';
import { startX11vnc, waitForRfb, type X11vncChild } from 'bmc-console/supervisor/x11vnc';
import { X11vncViewers } from 'bmc-console/supervisor/x11vnc-viewers';
import { writeXauthority } from 'bmc-console/supervisor/xauthority';
import { type RunningXvfb, startXvfb } from 'bmc-console/supervisor/xvfb';
import { REPO_ROOT } from './helpers/console-process.js';

const dir = mkdtempSync(join(tmpdir(), 'x11vnc-preload-'));
const log = createLogger('test', { level: 'silent' });
const preload = join(dir, 'hooks.so');
let noCompiler: string | undefined;
try {
  execFileSync('cc', ['-shared', '-fPIC', '-O2', '-o', preload, join(REPO_ROOT, 'image/x11vnc-preload/hooks.c')], {
    stdio: 'pipe',
  });
} catch (err) {
  noCompiler = `cannot compile the preload with cc: ${(err as Error).message.split('\n')[0]}`;
}
if (noCompiler) console.warn(`x11vnc preload tests skipped: ${noCompiler}`);

/** Connects and reads the 12-byte greeting; `answer` sends the client's version after it. */
async function client(port: number, answer: boolean): Promise<{ socket: Socket; greeting: string }> {
  const socket = connect({ host: '127.0.0.1', port });
  const greeting = await new Promise<string>((resolve, reject) => {
    socket.once('data', (d) => resolve(d.toString('latin1')));
    socket.once('error', reject);
  });
  if (answer) socket.write('RFB 003.008\n');
  return { socket, greeting };
}

describe.skipIf(!!noCompiler)('x11vnc with the image preload', { timeout: 60_000 }, () => {
  let xvfb: RunningXvfb;
  let x11vnc: X11vncChild;
  const port = 21_000 + (process.pid % 20_000);
  const viewers = new X11vncViewers();
  const seen: number[] = [];
  const until = async (n: number) => {
    for (let i = 0; i < 100 && seen.at(-1) !== n; i++) await new Promise((r) => setTimeout(r, 50));
    expect(seen.at(-1)).toBe(n);
  };

  beforeAll(async () => {
    xvfb = await startXvfb({ width: 320, height: 240, authFile: writeXauthority(join(dir, 'Xauthority')) }, log);
    x11vnc = startX11vnc({ display: xvfb.display, authFile: xvfb.authFile, port, readOnly: false }, log, preload);
    expect(x11vnc.viewerReports).toBeDefined();
    if (x11vnc.viewerReports) viewers.follow(x11vnc.viewerReports);
    viewers.watch((n) => seen.push(n)).start();
    await waitForRfb('127.0.0.1', port, 20_000);
  });

  afterAll(async () => {
    await x11vnc?.stop(200);
    await xvfb?.stop(200);
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts clients that answer the greeting, not probes that only read it', async () => {
    const probe = await client(port, false);
    expect(probe.greeting).toBe('RFB 003.008\n');
    probe.socket.destroy();
    const a = await client(port, true);
    await until(1);
    const b = await client(port, true);
    await until(2);
    a.socket.destroy();
    await until(1);
    b.socket.destroy();
    await until(0);
    expect(seen).toEqual([1, 2, 1, 0]);
  });

  it('answers a WebSocket handshake with the RFB greeting', async () => {
    const socket = connect({ host: '127.0.0.1', port }, () =>
      socket.write(
        'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1\r\n\r\n',
      ),
    );
    const reply = await new Promise<string>((resolve, reject) => {
      socket.once('data', (d) => resolve(d.toString('latin1')));
      socket.once('error', reject);
    });
    socket.destroy();
    expect(reply).toBe('RFB 003.008\n');
  });
});
