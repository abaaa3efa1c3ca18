/**
 * The start-up and memory settings of the console's children (docs/benchmarks.md, what shaped the code): Chromium's
 * feature switches (one of each, the automation defaults kept), Xvfb without GLX, x11vnc without naps; and, with
 * real Xvfb and Debian Chromium, that the console's flags leave one page and no omnibox WebUI renderer.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { chromiumArgs, launchChromium } from 'bmc-console/supervisor/chromium';
import { x11vncArgs } from 'bmc-console/supervisor/x11vnc';
import { startXvfb, xvfbArgs } from 'bmc-console/supervisor/xvfb';
import { writeXauthority } from 'bmc-console/supervisor/xauthority';
import { createLogger } from '@bmc-console/common/log';

const opts = { display: ':1', width: 1280, height: 960, sandbox: true, extraArgs: [], debug: false };
const switchValues = (args: string[], name: string): string[] =>
  args.filter((a) => a.startsWith(`${name}=`)).map((a) => a.slice(name.length + 1));

describe('console footprint settings', () => {
  it('Chromium: one --disable-features and one --enable-features (the last one wins), with the automation defaults kept', () => {
    const a = chromiumArgs(opts);
    const disabled = switchValues(a, '--disable-features');
    const enabled = switchValues(a, '--enable-features');
    expect(disabled).toHaveLength(1);
    expect(enabled).toHaveLength(1);
    // The automation defaults (Playwright's lists, which the console ran with before its own driver) and the console's.
    for (const f of [
      'HttpsUpgrades',
      'PaintHolding',
      'MediaRouter',
      'Translate',
      'SpareRendererForSitePerProcess',
      'WebUIOmniboxPopup',
      'OptimizationGuideOnDeviceModel',
      'LogOnDeviceMetricsOnStartup',
    ])
      expect(disabled[0]!.split(',')).toContain(f);
    for (const f of ['CDPScreenshotNewSurface', 'NetworkServiceInProcess2'])
      expect(enabled[0]!.split(',')).toContain(f);
    expect(a).toEqual(
      expect.arrayContaining([
        '--in-process-gpu',
        '--renderer-process-limit=1',
        '--optimization-guide-performance-class=1',
        '--no-unsandboxed-zygote',
      ]),
    );
    // The renderer sandbox stays on.
    expect(a.join(' ')).not.toMatch(/--no-sandbox|--no-zygote|--single-process/);
  });

  it('Xvfb without GLX, x11vnc without naps, X DAMAGE or a full-screen grab, polling every 100 ms (25 ms while a viewer types)', () => {
    const authFile = '/run/x/Xauthority';
    expect(xvfbArgs({ width: 1024, height: 768, authFile }).join(' ')).toContain('-extension GLX');
    const x = x11vncArgs({ display: ':3', authFile, port: 5900, readOnly: false });
    expect(x).toContain('-nonap');
    expect(x).toContain('-noxdamage'); // changes found by polling alone
    expect(x.join(' ')).toContain('-wait 100 -wait_ui 10');
    expect(x.join(' ')).toContain('-fs 1.0'); // no full-screen SHM image
  });

  it('real Chromium with the console flags: one page target, no omnibox WebUI', { timeout: 90_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'console-footprint-'));
    // startXvfb registers the display's cookie, which launchChromium passes on as XAUTHORITY.
    const xvfb = await startXvfb(
      { width: 800, height: 600, authFile: writeXauthority(join(dir, 'Xauthority')) },
      createLogger('test', { level: 'silent' }),
    );
    const display = xvfb.display;
    try {
      // Root on the test host cannot use Chromium's sandbox; the image runs as a user with it on.
      const context = await launchChromium(
        { ...opts, display, width: 800, height: 600, sandbox: process.getuid?.() !== 0 },
        join(dir, 'profile'),
        dir,
      );
      try {
        const page = context.pages()[0] ?? (await context.newPage());
        await page.setContent('<p>console</p>');
        const cdp = context.browser().connection.browserSession;
        // The omnibox popup WebUI is created a moment after start-up; the status page is up by then.
        await sleep(1500);
        const { targetInfos } = await cdp.send<{ targetInfos: { type: string; url: string }[] }>('Target.getTargets');
        expect(targetInfos.filter((t) => t.type === 'page')).toHaveLength(1);
        expect(targetInfos.map((t) => t.url).filter((u) => u.startsWith('chrome://'))).toEqual([]);
      } finally {
        await context.close();
      }
    } finally {
      await xvfb.stop(500);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
