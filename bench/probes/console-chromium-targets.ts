/**
 * Lists Chromium's CDP targets (pages, WebUI, workers) with the console's flags (chromiumArgs) plus any given,
 * WAIT_MS (default 3000) after the launch: which WebUI keeps a renderer of its own (Chromium 156's omnibox popup
 * did, ~40 MiB, until the console disabled it). Root on the host: no sandbox.
 * Usage: [WAIT_MS=1500] node --conditions=source --import tsx bench/probes/console-chromium-targets.ts [--chromium-flag ...]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { launchBrowser } from 'bmc-console/cdp/browser';
import { chromiumArgs, CHROMIUM_EXECUTABLE } from 'bmc-console/supervisor/chromium';

const xvfb = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '1280x960x24', '-nolisten', 'tcp'], {
  stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
});
const display = await new Promise<string>((resolve) =>
  xvfb.stdio[3]!.on('data', (d: Buffer) => resolve(`:${d.toString().trim()}`)),
);
const dir = mkdtempSync(join(tmpdir(), 'chromium-targets-'));
const extra = process.argv.slice(2);
const browser = await launchBrowser({
  executablePath: CHROMIUM_EXECUTABLE,
  userDataDir: join(dir, 'profile'),
  args: [...chromiumArgs({ display, width: 1280, height: 960, sandbox: false, extraArgs: [], debug: false }), ...extra],
  env: { ...process.env, DISPLAY: display, HOME: dir },
});
await sleep(Number(process.env.WAIT_MS ?? 3000));
const { targetInfos } = await browser.connection.browserSession.send<{
  targetInfos: { type: string; url: string; title: string }[];
}>('Target.getTargets');
for (const t of targetInfos) process.stdout.write(`${t.type}\t${t.url}\t${t.title}\n`);
await browser.close();
xvfb.kill();
rmSync(dir, { recursive: true, force: true });
