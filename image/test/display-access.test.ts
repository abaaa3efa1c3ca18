/**
 * Who may open the console's display and what its children inherit: real Xvfb refuses an X client without the
 * supervisor's cookie (xdpyinfo), the children's environment is the allow-list, `run` takes the secrets out of
 * process.env before anything is spawned, and a read-only x11vnc hands viewers no text from the console.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '@bmc-console/common/log';
import { childEnvironment } from 'bmc-console/supervisor/child-process';
import { displayEnvironment, writeXauthority } from 'bmc-console/supervisor/xauthority';
import { startXvfb } from 'bmc-console/supervisor/xvfb';
import { startX11vnc, waitForRfb } from 'bmc-console/supervisor/x11vnc';
import { RfbClient } from '@bmc-console/common/rfb/client';
import { takeConsoleEnvironment } from 'bmc-console/commands/run';

const dir = mkdtempSync(join(tmpdir(), 'display-access-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const xdpyinfoMissing = spawnSync('xdpyinfo', ['-version'], { encoding: 'utf8' }).error !== undefined;
if (xdpyinfoMissing)
  console.warn('display access: the Xvfb cookie test is skipped: xdpyinfo is not installed (Debian: x11-utils)');

describe('display access control', { timeout: 60_000 }, () => {
  it('writes a 0600 cookie file with one MIT-MAGIC-COOKIE-1 entry of 16 random bytes', () => {
    const a = writeXauthority(join(dir, 'a'));
    const b = writeXauthority(join(dir, 'b'));
    expect(statSync(a).mode & 0o777).toBe(0o600);
    expect(statSync(a).size).toBe(2 + 2 + 2 + 2 + 18 + 2 + 16);
    expect(spawnSync('cmp', ['-s', a, b]).status).toBe(1); // a fresh cookie each time
  });

  it.skipIf(xdpyinfoMissing)('Xvfb refuses a client without the cookie and admits one with it', async () => {
    const authFile = writeXauthority(join(dir, 'Xauthority'));
    const xvfb = await startXvfb({ width: 320, height: 240, authFile }, createLogger('test', { level: 'silent' }));
    try {
      // HOME without a ~/.Xauthority, so nothing but XAUTHORITY can supply a cookie.
      const base = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: join(dir, 'empty-home') };
      const without = spawnSync('xdpyinfo', [], {
        env: { ...base, DISPLAY: xvfb.display },
        encoding: 'utf8',
        timeout: 15_000,
      });
      expect(without.status, without.stdout).not.toBe(0);
      expect(without.stderr).toMatch(/unable to open display|Authorization required|No protocol specified/i);
      const other = writeXauthority(join(dir, 'other'));
      const wrong = spawnSync('xdpyinfo', [], {
        env: { ...base, DISPLAY: xvfb.display, XAUTHORITY: other },
        encoding: 'utf8',
        timeout: 15_000,
      });
      expect(wrong.status).not.toBe(0);
      expect(displayEnvironment(xvfb.display)).toEqual({ DISPLAY: xvfb.display, XAUTHORITY: authFile });
      const withCookie = spawnSync('xdpyinfo', [], {
        env: { ...base, ...displayEnvironment(xvfb.display) },
        encoding: 'utf8',
        timeout: 15_000,
      });
      expect(withCookie.status, withCookie.stderr).toBe(0);
      expect(withCookie.stdout).toContain('320x240');
    } finally {
      await xvfb.stop(500);
    }
  });
});

describe("the children's environment", () => {
  it('is the allow-list: no APP_INFO, VNC_PASSWORD, their _FILE variants or anything else', () => {
    const env = childEnvironment(
      { DISPLAY: ':7' },
      {
        PATH: '/usr/bin',
        HOME: '/home/console',
        LANG: 'C.UTF-8',
        LC_ALL: 'C.UTF-8',
        TZ: 'UTC',
        XAUTHORITY: '/tmp/x/Xauthority',
        DISPLAY: ':1',
        APP_INFO: '{"password":"p"}',
        APP_INFO_FILE: '/run/secrets/app-info',
        VNC_PASSWORD: 'v',
        VNC_PASSWORD_FILE: '/run/secrets/vnc-password',
        APP: 'redfish-graphical',
        NODE_OPTIONS: '--max-semi-space-size=1',
        CONTAINERS_CONF: '/x',
        BMC_CONSOLE_STATE_FILE: '/tmp/s',
      },
    );
    expect(env).toEqual({
      PATH: '/usr/bin',
      HOME: '/home/console',
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      TZ: 'UTC',
      XAUTHORITY: '/tmp/x/Xauthority',
      DISPLAY: ':7',
    });
  });

  it('run takes APP_INFO, VNC_PASSWORD and their _FILE variants out of process.env, and keeps them for the supervisor', () => {
    const env: NodeJS.ProcessEnv = {
      APP: 'fake',
      APP_INFO: '{}',
      VNC_PASSWORD: 'v',
      APP_INFO_FILE: '/a',
      VNC_PASSWORD_FILE: '/b',
      PATH: '/usr/bin',
    };
    const taken = takeConsoleEnvironment(env);
    expect(env).toEqual({ APP: 'fake', PATH: '/usr/bin' });
    expect(taken).toEqual({
      APP: 'fake',
      APP_INFO: '{}',
      VNC_PASSWORD: 'v',
      APP_INFO_FILE: '/a',
      VNC_PASSWORD_FILE: '/b',
      PATH: '/usr/bin',
    });
  });
});

describe("x11vnc and the console's text", { timeout: 60_000 }, () => {
  const xpropMissing = spawnSync('xprop', ['-version'], { encoding: 'utf8' }).error !== undefined;
  if (xpropMissing)
    console.warn('display access: the cut-text test is skipped: xprop is not installed (Debian: x11-utils)');

  /** Cut text a viewer receives within `ms` after the display's CUT_BUFFER0 is set (x11vnc forwards it unless -nosel). */
  async function cutTextSeen(readOnly: boolean, ms: number): Promise<string[]> {
    const authFile = writeXauthority(join(dir, `Xauthority-cut-${readOnly}`));
    const log = createLogger('test', { level: 'silent' });
    const xvfb = await startXvfb({ width: 320, height: 240, authFile }, log);
    const port = 21_000 + (process.pid % 20_000) + (readOnly ? 1 : 0);
    const x11vnc = startX11vnc({ display: xvfb.display, authFile, port, readOnly }, log);
    try {
      await waitForRfb('127.0.0.1', port, 20_000);
      const client = await RfbClient.connect({ host: '127.0.0.1', port, timeoutMs: 10_000 });
      const seen: string[] = [];
      client.on('cuttext', (t: string) => seen.push(t));
      try {
        await client.requestUpdate(false);
        const set = spawnSync('xprop', ['-root', '-f', 'CUT_BUFFER0', '8s', '-set', 'CUT_BUFFER0', 'console text 7q'], {
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...displayEnvironment(xvfb.display) },
          encoding: 'utf8',
        });
        expect(set.status, set.stderr).toBe(0);
        const deadline = Date.now() + ms;
        while (Date.now() < deadline && seen.length === 0) await new Promise((r) => setTimeout(r, 50));
        return seen;
      } finally {
        client.close();
      }
    } finally {
      await x11vnc.stop(200);
      await xvfb.stop(200);
    }
  }

  it.skipIf(xpropMissing)("a read-write viewer gets the console's cut text, a read-only one does not", async () => {
    expect(await cutTextSeen(false, 10_000)).toContain('console text 7q');
    expect(await cutTextSeen(true, 3000)).toEqual([]);
  });
});
