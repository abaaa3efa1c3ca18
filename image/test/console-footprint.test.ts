/**
 * The start-up and memory settings of the console's children (docs/benchmarks.md, what shaped the code): Chromium's
 * feature switches (one of each, Playwright's defaults kept), Xvfb without GLX, x11vnc without naps; and, with
 * real Xvfb and Debian Chromium, that the console's flags leave one page and no omnibox WebUI renderer.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chromiumArgs, launchChromium } from 'bmc-console/supervisor/chromium';
import { x11vncArgs } from 'bmc-console/supervisor/x11vnc';
import { xvfbArgs } from 'bmc-console/supervisor/xvfb';

const opts = { display: ':1', width: 1280, height: 960, sandbox: true, extraArgs: [], debug: false };
const switchValues = (args: string[], name: string): string[] => args.filter((a) => a.startsWith(`${name}=`)).map((a) => a.slice(name.length + 1));

describe('console footprint settings', () => {
  it('Chromium: one --disable-features and one --enable-features (the last one wins), with Playwright defaults kept', () => {
    const a = chromiumArgs(opts);
    const disabled = switchValues(a, '--disable-features');
    const enabled = switchValues(a, '--enable-features');
    expect(disabled).toHaveLength(1);
    expect(enabled).toHaveLength(1);
    // Playwright's own (its switch comes earlier and would otherwise be lost) and the console's.
    for (const f of ['HttpsUpgrades', 'PaintHolding', 'MediaRouter', 'Translate', 'SpareRendererForSitePerProcess', 'WebUIOmniboxPopup', 'OptimizationGuideOnDeviceModel', 'LogOnDeviceMetricsOnStartup'])
      expect(disabled[0]!.split(',')).toContain(f);
    for (const f of ['CDPScreenshotNewSurface', 'NetworkServiceInProcess2']) expect(enabled[0]!.split(',')).toContain(f);
    expect(a).toEqual(expect.arrayContaining(['--in-process-gpu', '--renderer-process-limit=1', '--optimization-guide-performance-class=1', '--no-unsandboxed-zygote']));
    // The renderer sandbox stays on.
    expect(a.join(' ')).not.toMatch(/--no-sandbox|--no-zygote|--single-process/);
  });

  it('Xvfb without GLX, x11vnc without naps, X DAMAGE or a full-screen grab, polling every 50 ms', () => {
    expect(xvfbArgs({ width: 1024, height: 768 }).join(' ')).toContain('-extension GLX');
    expect(x11vncArgs({ display: ':3', port: 5900, readOnly: false })).toContain('-nonap');
    expect(x11vncArgs({ display: ':3', port: 5900, readOnly: false })).toContain('-noxdamage'); // changes found by polling alone
    expect(x11vncArgs({ display: ':3', port: 5900, readOnly: false }).join(' ')).toContain('-wait 50');
    expect(x11vncArgs({ display: ':3', port: 5900, readOnly: false }).join(' ')).toContain('-fs 1.0'); // no full-screen SHM image
  });

  it('real Chromium with the console flags: one page target, no omnibox WebUI', { timeout: 90_000 }, async () => {
    const xvfb = spawn('Xvfb', ['-displayfd', '3', ...xvfbArgs({ width: 800, height: 600 }).slice(2)], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
    const dir = mkdtempSync(join(tmpdir(), 'console-footprint-'));
    try {
      const display = await new Promise<string>((resolve, reject) => {
        let buf = '';
        xvfb.stdio[3]!.on('data', (d: Buffer) => {
          buf += d.toString();
          const m = /^(\d+)\n/.exec(buf);
          if (m) resolve(`:${m[1]}`);
        });
        xvfb.once('exit', (code) => reject(new Error(`Xvfb exited (${code})`)));
      });
      // Root on the test host cannot use Chromium's sandbox; the image runs as a user with it on.
      const context = await launchChromium({ ...opts, display, width: 800, height: 600, sandbox: process.getuid?.() !== 0 }, join(dir, 'profile'), dir);
      try {
        const page = context.pages()[0] ?? (await context.newPage());
        await page.setContent('<p>console</p>');
        const cdp = await context.browser()!.newBrowserCDPSession();
        // The omnibox popup WebUI is created a moment after start-up; the status page is up by then.
        await page.waitForTimeout(1500);
        const { targetInfos } = (await cdp.send('Target.getTargets')) as { targetInfos: { type: string; url: string }[] };
        expect(targetInfos.filter((t) => t.type === 'page')).toHaveLength(1);
        expect(targetInfos.map((t) => t.url).filter((u) => u.startsWith('chrome://'))).toEqual([]);
      } finally {
        await context.close();
      }
    } finally {
      xvfb.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
