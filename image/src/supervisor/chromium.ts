import { chromium, type BrowserContext } from 'playwright-core';
import { readdirSync, readFileSync } from 'node:fs';

export interface ChromiumOptions {
  display: string;
  width: number;
  height: number;
  /** Chromium's namespace sandbox; only root needs it off (tests on the host). */
  sandbox: boolean;
  /** Extra flags, e.g. the certificate trust flag from browserTrust(). */
  extraArgs: string[];
  /** Keep the window decorations and allow devtools (DEBUG). */
  debug: boolean;
}

export const CHROMIUM_EXECUTABLE = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Kiosk flags (see platform-notes.md): full screen, no first-run, no background traffic, no infobars. */
export function chromiumArgs(o: ChromiumOptions): string[] {
  return [
    ...(o.debug ? [] : ['--kiosk']),
    '--window-position=0,0',
    `--window-size=${o.width},${o.height}`,
    '--test-type',
    '--noerrdialogs',
    '--disable-gpu',
    '--disable-dev-shm-usage',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-quic',
    '--disable-features=Translate,MediaRouter,OptimizationHints',
    '--disable-session-crashed-bubble',
    '--no-default-browser-check',
    '--no-first-run',
    '--password-store=basic',
    '--autoplay-policy=no-user-gesture-required',
    ...o.extraArgs,
  ];
}

/** `home` becomes the browser's HOME: its NSS database (~/.pki/nssdb) holds any CA imported for the BMC. */
export async function launchChromium(o: ChromiumOptions, profileDir: string, home: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM_EXECUTABLE,
    headless: false,
    chromiumSandbox: o.sandbox,
    viewport: null,
    ignoreDefaultArgs: ['--enable-automation'],
    args: chromiumArgs(o),
    env: { ...process.env, DISPLAY: o.display, HOME: home },
    // The supervisor decides when the browser ends (vendor script close() first), not Playwright's handlers.
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
    timeout: 90_000, // generous: a loaded 2-core machine can take 15 s and more
  });
}

/**
 * The browser process: Playwright does not expose it for persistent contexts, so find our child
 * process named chromium (Debian's /usr/bin/chromium wrapper execs the binary, keeping the pid).
 */
export function findBrowserPid(parentPid = process.pid): number | undefined {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const m = /^\d+ \((.*)\) \S (\d+)/.exec(stat);
      if (m && Number(m[2]) === parentPid && /chrom/.test(m[1] ?? '')) return Number(name);
    } catch {
      // the process went away while we looked
    }
  }
  return undefined;
}
