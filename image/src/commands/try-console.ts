/**
 * Runs one vendor script outside the container, the way the supervisor would: Redfish discovery, the picked
 * script's open() in a Chromium page, a screenshot after each step. Used by `bmc-console try` and by the
 * vendor-script tests (which share one browser across many consoles).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, launchBrowser } from '../cdp/browser.js';
import type { Page } from '../cdp/page.js';
import { createLogger, scrubSecrets, type Logger } from '@bmc-console/common/log';
import { discover } from '@bmc-console/common/discovery/discover';
import { RedfishClient } from '@bmc-console/common/redfish/client';
import { CHROMIUM_EXECUTABLE } from '../supervisor/chromium.js';
import {
  ConsoleFailure,
  type BmcTarget,
  type ConsoleContext,
  type Discovery,
  type VendorScript,
} from '../vendor-script.js';
import { pickVendorScript } from '../../vendor-scripts/index.js';
import { toConsoleFailure } from '../console-failure.js';

/** A headless (or headed) Chromium for trying scripts on the host; root cannot use Chromium's sandbox. */
export function launchTryBrowser(
  opts: { headed?: boolean; args?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<Browser> {
  return launchBrowser({
    executablePath: CHROMIUM_EXECUTABLE,
    headless: !opts.headed,
    args: [
      ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--no-first-run',
      '--disable-background-networking',
      ...(opts.args ?? []),
    ],
    ...(opts.env ? { env: opts.env } : {}),
  });
}

export interface TryOptions {
  browser: Browser;
  bmc: BmcTarget;
  /** Screenshots go here (created); none when absent. */
  outDir?: string;
  /** Viewport; null = the window's own size (headed kiosk-like). Default 1280x960 (the container's display). */
  viewport?: { width: number; height: number } | null;
  keyDelayMs?: number;
  log?: Logger;
  node?: string;
  /** Skip discovery and use this (tests of one script). */
  discovery?: Discovery;
  /** Ironic's system_id: the host discovery picks when the BMC has several. */
  systemId?: string;
  /** Force a script instead of pickVendorScript. */
  script?: VendorScript;
  /** Called for every step (after its screenshot). */
  onStep?: (step: string, screenshot: string | undefined) => void;
}

export interface TryConsole {
  script: VendorScript;
  ctx: ConsoleContext;
  discovery: Discovery;
  page: Page;
  context: BrowserContext;
  /** Screenshot paths in order. */
  screenshots: string[];
  steps: string[];
  /** Aborts the script's waits (as the supervisor does on shutdown). */
  abort(): void;
  /** Saves a screenshot named `name` now; returns its path (undefined without outDir). */
  shot(name: string): Promise<string | undefined>;
  /** script.close(), then the browser context. */
  close(): Promise<void>;
}

const slug = (s: string): string =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 60);

/**
 * Sets up a console (context, page, Redfish client, discovery, ConsoleContext) without opening it:
 * call `open()` on the result's script with its ctx. verify_ca: false ignores certificate errors in this
 * browser context (the supervisor pins the certificate instead); a CA path must be trusted by the browser.
 */
export async function prepareConsole(o: TryOptions): Promise<TryConsole> {
  const log = o.log ?? createLogger('bmc-console-try', { level: process.env.LOG_LEVEL ?? 'warn' });
  const context = await o.browser.newContext({
    viewport: o.viewport === undefined ? { width: 1280, height: 960 } : o.viewport,
    ignoreHTTPSErrors: o.bmc.verifyCa === false,
  });
  const page = await context.newPage();
  const redfish = new RedfishClient({
    origin: o.bmc.origin,
    rootPrefix: o.bmc.rootPrefix,
    username: o.bmc.username,
    password: o.bmc.password,
    verifyCa: o.bmc.verifyCa,
    log,
  });
  const controller = new AbortController();
  const screenshots: string[] = [];
  const steps: string[] = [];
  if (o.outDir) mkdirSync(o.outDir, { recursive: true });

  const shot = async (name: string): Promise<string | undefined> => {
    if (!o.outDir || page.isClosed()) return undefined;
    const file = join(o.outDir, `${String(screenshots.length + 1).padStart(2, '0')}-${slug(name)}.png`);
    try {
      await page.screenshot({ path: file, timeout: 10_000 });
    } catch (e) {
      log.warn({ err: e instanceof Error ? e.message : String(e) }, 'screenshot failed');
      return undefined;
    }
    screenshots.push(file);
    return file;
  };

  let discovery: Discovery;
  try {
    discovery = o.discovery ?? (await discover(redfish, o.systemId ? { systemId: o.systemId } : {}));
  } catch (e) {
    await context.close().catch(() => undefined);
    redfish.close();
    throw toConsoleFailure(e, 'Redfish discovery', [o.bmc.password]);
  }
  const script = o.script ?? pickVendorScript(discovery);
  const ctx: ConsoleContext = {
    page,
    context,
    bmc: o.bmc,
    discovery,
    redfish,
    async status(step) {
      steps.push(step);
      log.info({ step }, 'step');
      // The screenshot shows the page as this step begins, i.e. what the previous step left.
      const file = await shot(step);
      o.onStep?.(step, file);
    },
    log: log.child({ script: script.family }),
    keys: { keyDelayMs: o.keyDelayMs ?? 0 },
    signal: controller.signal,
    display: o.viewport ?? { width: 1280, height: 960 },
    ...(o.node ? { node: o.node } : {}),
  };
  return {
    script,
    ctx,
    discovery,
    page,
    context,
    screenshots,
    steps,
    shot,
    abort: () => controller.abort(),
    async close() {
      await script.close(ctx).catch((e: unknown) => log.warn({ err: String(e) }, 'close failed'));
      await context.close().catch(() => undefined);
      redfish.close();
    },
  };
}

/** prepareConsole + open(); the failure (a ConsoleFailure for known causes) is thrown with secrets scrubbed. */
export async function tryConsole(o: TryOptions): Promise<TryConsole> {
  const c = await prepareConsole(o);
  try {
    await c.script.open(c.ctx);
  } catch (e) {
    await c.shot('failed');
    await c.close();
    const f =
      e instanceof ConsoleFailure ? e : toConsoleFailure(e, `${c.script.displayName} console`, [o.bmc.password]);
    if (f instanceof ConsoleFailure) throw new ConsoleFailure(scrubSecrets(f.cause, [o.bmc.password]), f.hint, f.kind);
    throw f;
  }
  await c.shot('console');
  return c;
}
