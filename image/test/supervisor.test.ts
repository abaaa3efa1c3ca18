/**
 * `bmc-console run` on the host with real Xvfb, x11vnc and Chromium (no container), seen through a real
 * RFB client: the fake console is on screen, each child killed by pid comes back, SIGTERM ends it all.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePng } from '@bmc-console/common/rfb/png';
import { FAKE_CONSOLE_COLOURS } from 'bmc-console/status-page/status-page';
import { alive, REPO_ROOT, startConsole, type ConsoleProcess } from './helpers/console-process.js';
import { colourCentreX, colourShare, looksLikeFakeConsole, waitForFrame, type Frame } from './helpers/pixels.js';

/** Every process below `root` (via /proc/<pid>/stat parent ids). */
function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const m = /\) \S (\d+)/.exec(readFileSync(`/proc/${name}/stat`, 'utf8'));
      if (m) parent.set(Number(name), Number(m[1]));
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const isBelow = (pid: number): boolean => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) if (p === root) return true;
    return false;
  };
  for (const pid of parent.keys()) if (isBelow(pid)) out.push(pid);
  return out;
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

/** NAME=value entries of a process's initial environment ([] when unreadable). */
function environ(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** Found in APP_INFO only: any process environment holding it inherited APP_INFO. */
const ENV_MARKER = 'env-marker-5d1c9e';

const SHOTS = join(REPO_ROOT, '.work', 'screenshots'); // git-ignored
function save(name: string, f: Frame): void {
  mkdirSync(SHOTS, { recursive: true });
  writeFileSync(join(SHOTS, `${name}.png`), encodePng(f));
}

// Deadlines are generous: on a loaded 2-core machine Chromium alone can take 15 s to start.
describe('supervisor with APP=fake (real Xvfb, x11vnc, Chromium)', { timeout: 240_000 }, () => {
  let c: ConsoleProcess;
  beforeAll(async () => {
    c = await startConsole({
      APP: 'fake',
      DISPLAY_WIDTH: '1024',
      DISPLAY_HEIGHT: '768',
      APP_INFO: JSON.stringify({ node_uuid: ENV_MARKER }),
      BMC_CONSOLE_UNRELATED: 'unrelated',
    });
    await c.waitForState((s) => !!s.chromiumPid && !!s.x11vncPid && !!s.xvfbPid);
  }, 240_000);
  afterAll(async () => {
    await c?.stop();
  });

  it('shows the fake test console to a VNC client, at the configured size', async () => {
    const f = await waitForFrame({ port: c.port }, looksLikeFakeConsole);
    save('supervisor-fake', f);
    expect([f.width, f.height]).toEqual([1024, 768]);
    expect(colourShare(f, FAKE_CONSOLE_COLOURS.background)).toBeGreaterThan(0.6);
  });

  it('animates: the bar moves between frames', async () => {
    const first = await waitForFrame({ port: c.port }, looksLikeFakeConsole);
    const x0 = colourCentreX(first, FAKE_CONSOLE_COLOURS.bar);
    await waitForFrame({ port: c.port }, (f) => Math.abs(colourCentreX(f, FAKE_CONSOLE_COLOURS.bar) - x0) > 20, 15_000);
  });

  it('gives Xvfb, x11vnc and Chromium (and its children) the allow-listed environment only, and its display a cookie', () => {
    const s = c.state()!;
    const pids = [s.xvfbPid!, s.x11vncPid!, ...descendants(s.chromiumPid!), s.chromiumPid!];
    const seen = pids
      .map((pid) => ({ pid, cmd: cmdline(pid).slice(0, 40), env: environ(pid) }))
      .filter((p) => p.env.length > 0);
    expect(seen.length).toBeGreaterThanOrEqual(3);
    for (const p of seen) {
      const names = p.env.map((kv) => kv.slice(0, kv.indexOf('=')));
      expect(names, `${p.pid} ${p.cmd}`).not.toEqual(expect.arrayContaining(['APP_INFO']));
      expect(
        names.filter((n) =>
          /^(APP|APP_INFO|VNC_PASSWORD|[A-Z_]*_FILE|BMC_CONSOLE_.*|LOG_LEVEL|CHROMIUM_SANDBOX)$/.test(n),
        ),
        `${p.pid} ${p.cmd}`,
      ).toEqual([]);
      expect(p.env.join('\n'), `${p.pid} ${p.cmd}`).not.toContain(ENV_MARKER);
    }
    // Chromium's browser process opens the display with the supervisor's cookie.
    const browserEnv = environ(s.chromiumPid!);
    expect(browserEnv).toEqual(
      expect.arrayContaining([`DISPLAY=${s.display}`, expect.stringMatching(/^XAUTHORITY=.+Xauthority$/)]),
    );
    // The supervisor itself keeps the kernel's copy of its initial environment; the one it spawns from is clean.
    expect(cmdline(s.xvfbPid!)).toMatch(/-auth \S+Xauthority/);
    expect(cmdline(s.xvfbPid!)).not.toMatch(/(^| )-ac( |$)/);
  });

  it('reopens the page in the same browser after its renderers are killed', async () => {
    const before = c.state()!;
    const renderers = descendants(before.chromiumPid!).filter((pid) => cmdline(pid).includes('--type=renderer'));
    expect(renderers.length, 'renderer processes of the browser').toBeGreaterThan(0);
    for (const pid of renderers) process.kill(pid, 'SIGKILL');
    await c.waitForOutput(/the page crashed \(renderer died\); reopening it in the running browser/);
    const f = await waitForFrame({ port: c.port }, looksLikeFakeConsole);
    save('supervisor-after-renderers-killed', f);
    const after = c.state()!;
    // Not a new browser: same browser process, no Chromium restart counted.
    expect(after.chromiumPid).toBe(before.chromiumPid);
    expect(after.restarts.chromium).toBe(before.restarts.chromium);
    expect(alive(before.chromiumPid)).toBe(true);
  });

  for (const child of ['xvfb', 'x11vnc', 'chromium'] as const) {
    it(`brings the picture back after ${child} is killed`, async () => {
      const before = c.state()!;
      const pid = child === 'xvfb' ? before.xvfbPid : child === 'x11vnc' ? before.x11vncPid : before.chromiumPid;
      expect(pid, `${child} pid in the state file`).toBeGreaterThan(0);
      process.kill(pid!, 'SIGKILL');
      const after = await c.waitForState(
        (s) => s.restarts[child] > before.restarts[child] && !!s.xvfbPid && !!s.x11vncPid && !!s.chromiumPid,
      );
      const newPid = child === 'xvfb' ? after.xvfbPid : child === 'x11vnc' ? after.x11vncPid : after.chromiumPid;
      expect(newPid).not.toBe(pid);
      const f = await waitForFrame({ port: c.port }, looksLikeFakeConsole);
      save(`supervisor-after-${child}-killed`, f);
    });
  }

  it('stops every child on SIGTERM and exits 0', async () => {
    const s = c.state()!;
    const { code, ms } = await c.stop();
    expect(code).toBe(0);
    expect(ms).toBeLessThan(5000); // the stated limit, loosely
    // SIGKILLed processes can take a moment to disappear on a loaded machine.
    const left = async () => [s.xvfbPid, s.x11vncPid, s.chromiumPid].filter((pid) => alive(pid));
    for (let i = 0; i < 50 && (await left()).length; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await left()).toEqual([]);
  });
});
