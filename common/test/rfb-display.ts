// Test fixture: a real Xvfb (free display via -displayfd) with a real x11vnc on a free loopback port.
// Shared by the RFB tests here and the proxy tests.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitForRfbGreeting, type RfbClient } from '../src/rfb/client.js';
import { freePort } from '../src/free-port.js';

export interface TestDisplay {
  display: string;
  width: number;
  height: number;
  stop(): Promise<void>;
}

export interface TestVnc {
  port: number;
  stop(): Promise<void>;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function startXvfb(width = 640, height = 480): Promise<TestDisplay> {
  const child = spawn(
    'Xvfb',
    ['-displayfd', '3', '-screen', '0', `${width}x${height}x24`, '-nolisten', 'tcp', '-noreset'],
    {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  const display = await new Promise<string>((resolve, reject) => {
    let out = '';
    const fd3 = child.stdio[3];
    if (!fd3 || !('on' in fd3)) return reject(new Error('Xvfb: no displayfd pipe'));
    fd3.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('\n')) resolve(`:${out.trim()}`);
    });
    child.once('exit', (code) => reject(new Error(`Xvfb exited with ${code}: ${stderr}`)));
  });
  return { display, width, height, stop: () => stopChild(child) };
}

/** Paints the root window one solid colour (xsetroot, package x11-xserver-utils). */
export function setRootColour(display: string, colour: string): void {
  const r = spawnSync('xsetroot', ['-solid', colour], { env: { ...process.env, DISPLAY: display }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`xsetroot failed: ${r.stderr}`);
}

export interface VncOptions {
  /** Require VNC authentication with this password. */
  password?: string;
  /** How x11vnc gets the password: a plain -passwdfile (default) or an -rfbauth file made by `x11vnc -storepasswd`. */
  passwordVia?: 'passwdfile' | 'rfbauth';
}

export async function startX11vnc(display: string, opts: VncOptions = {}): Promise<TestVnc> {
  const dir = mkdtempSync(join(tmpdir(), 'bmc-rfb-test-'));
  const auth: string[] = ['-nopw'];
  if (opts.password !== undefined) {
    if (opts.passwordVia === 'rfbauth') {
      const file = join(dir, 'passwd');
      const r = spawnSync('x11vnc', ['-storepasswd', opts.password, file], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`x11vnc -storepasswd failed: ${r.stderr}`);
      auth.splice(0, 1, '-rfbauth', file);
    } else {
      const file = join(dir, 'passwd');
      writeFileSync(file, `${opts.password}\n`, { mode: 0o600 });
      auth.splice(0, 1, '-passwdfile', file);
    }
  }
  // A port picked free can be taken before x11vnc binds it (parallel tests): retry a few times.
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const child = spawn(
      'x11vnc',
      [
        '-display',
        display,
        '-rfbport',
        String(port),
        '-localhost',
        '-forever',
        '-shared',
        '-noxdamage',
        '-noipv6',
        ...auth,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new Error(`x11vnc exited with ${code}: ${stderr.slice(-800)}`))),
    );
    exited.catch(() => {});
    try {
      await Promise.race([waitForRfbGreeting('127.0.0.1', port, 15_000), exited]);
      return {
        port,
        stop: async () => {
          await stopChild(child);
          rmSync(dir, { recursive: true, force: true });
        },
      };
    } catch (err) {
      await stopChild(child);
      if (attempt >= 2) {
        rmSync(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
}

/** Requests updates until the pixel at (x,y) has the wanted colour (bounded by a count, not a clock). */
export async function untilPixel(
  client: RfbClient,
  x: number,
  y: number,
  want: [number, number, number],
): Promise<[number, number, number]> {
  await client.requestUpdate(false);
  for (let i = 0; i < 20 && client.pixel(x, y).join() !== want.join(); i++) await client.requestUpdate(false);
  return client.pixel(x, y);
}
