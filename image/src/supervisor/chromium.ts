import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type BrowserContext, launchBrowser } from '../cdp/browser.js';
import { childEnvironment } from './child-process.js';
import { displayEnvironment } from './xauthority.js';

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

/**
 * Debian's /usr/bin/chromium is a shell script: it greps /proc/cpuinfo, runs findmnt and sources /etc/chromium.d
 * (adding flags we do not want: --enable-remote-extensions, --load-extension=) before it execs the binary, which
 * costs CPU on every launch. The binary takes every flag we need from chromiumArgs.
 */
const DEBIAN_CHROMIUM_BINARY = '/usr/lib/chromium/chromium';
export const CHROMIUM_EXECUTABLE =
  process.env.CHROMIUM_PATH ?? (existsSync(DEBIAN_CHROMIUM_BINARY) ? DEBIAN_CHROMIUM_BINARY : '/usr/bin/chromium');

/**
 * The features an automated Chromium runs without (the lists Playwright 1.65 uses, which the console ran with
 * before it had its own driver): no HTTPS upgrades of http:// BMCs, no paint holding, no Google traffic.
 */
const AUTOMATION_DISABLED_FEATURES = [
  'AvoidUnnecessaryBeforeUnloadCheckSync',
  'DestroyProfileOnBrowserClose',
  'HttpsUpgrades',
  'HttpsFirstBalancedModeAutoEnable',
  'LensOverlay',
  'MediaRouter',
  'PaintHolding',
  'ThirdPartyStoragePartitioning',
  'AvoidCorsURLLoaderRestartOnRedirect',
  'OptimizationHints',
  'NetworkTimeServiceQuerying',
  'AimEnabled',
  'PreconnectToSearch',
];
const AUTOMATION_ENABLED_FEATURES = ['CDPScreenshotNewSurface', 'SkipListAccountsWithoutGaiaCookies'];
/**
 * Memory: the console shows one page of one site, so it needs no spare renderer and no omnibox popup WebUI
 * (Chromium 156 keeps a renderer of ~40 MiB for it even in kiosk mode), and the network service runs in the
 * browser process (see chromiumArgs for the rest). No on-device AI model: three minutes after launch Chromium
 * starts an OnDeviceModelService utility process and its sandbox broker (~10 MiB of anon memory per console, and
 * CPU) to rate the device's "performance class" for it. In Chromium 156 these two features alone did not stop
 * that; the fixed class in chromiumArgs does (checked 4 minutes after launch).
 */
const DISABLED_FEATURES = [
  ...AUTOMATION_DISABLED_FEATURES,
  'Translate',
  'SpareRendererForSitePerProcess',
  'PreloadTopChromeWebUI',
  'WebUIOmniboxPopup',
  'WebUIOmniboxAimPopup',
  'OptimizationGuideOnDeviceModel',
  'LogOnDeviceMetricsOnStartup',
];
const ENABLED_FEATURES = [...AUTOMATION_ENABLED_FEATURES, 'NetworkServiceInProcess2'];

/**
 * Switches of an automated browser (Playwright's defaults, less --enable-automation, whose infobar would show on
 * the console, and --disable-popup-blocking: with Chromium's popup blocker on, only a user gesture opens a window,
 * and the navigation guard closes those nobody waits for): no extensions, no hang or repost dialogs, no crash
 * reporter, no field trials, no throttling of the page's timers.
 */
const AUTOMATION_SWITCHES = [
  '--disable-field-trial-config',
  '--disable-background-timer-throttling',
  '--disable-backgrounding-occluded-windows',
  '--disable-back-forward-cache',
  '--disable-breakpad',
  '--disable-component-extensions-with-background-pages',
  '--disable-default-apps',
  '--disable-extensions',
  '--disable-hang-monitor',
  '--disable-ipc-flooding-protection',
  '--disable-prompt-on-repost',
  '--disable-renderer-backgrounding',
  '--disable-search-engine-choice-screen',
  '--disable-infobars',
  '--force-color-profile=srgb',
  '--metrics-recording-only',
  '--no-service-autorun',
];

/**
 * Kiosk flags (see platform-notes.md): full screen, no first-run, no background traffic, no infobars.
 * Memory and start-up (docs/benchmarks.md, what shaped the code): one renderer process and no per-site processes
 * (one page of one BMC), the GPU thread in the browser process (there is no GPU, and a GPU process costs
 * ~20 MiB and start-up time). The renderer sandbox stays on.
 */
export function chromiumArgs(o: ChromiumOptions): string[] {
  return [
    ...AUTOMATION_SWITCHES,
    ...(o.sandbox ? [] : ['--no-sandbox']),
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
    '--disable-pings',
    `--disable-features=${DISABLED_FEATURES.join(',')}`,
    `--enable-features=${ENABLED_FEATURES.join(',')}`,
    '--in-process-gpu',
    '--renderer-process-limit=1',
    // No zygote for unsandboxed processes: it only forks the storage service here, which starts by exec instead.
    // The renderers' (sandboxed) zygote stays. The zygote process's memory is saved per console at no start-up cost.
    '--no-unsandboxed-zygote',
    '--disable-site-isolation-trials',
    '--disable-session-crashed-bubble',
    '--no-default-browser-check',
    '--no-first-run',
    '--password-store=basic',
    '--autoplay-policy=no-user-gesture-required',
    // A fixed "performance class" for on-device AI, so Chromium does not start a model service to measure it
    // (see DISABLED_FEATURES).
    '--optimization-guide-performance-class=1',
    ...o.extraArgs,
  ];
}

/**
 * The profile's own preferences, the same choices as the image's managed policy (image/chromium-policy/) where a
 * profile can make them: a Chromium without that policy (the host's, in tests) then shows no "Save password?" bubble
 * with the BMC's user name and password either, nor autofill or translate offers.
 */
export const PROFILE_PREFERENCES = {
  credentials_enable_service: false,
  credentials_enable_autosignin: false,
  // mixed_forms_warnings (policy InsecureFormsWarningsEnabled): an https page's form POST to http would replace the
  // KVM with Chromium's "not secure" warning page; without it the navigation guard aborts that navigation instead.
  profile: { password_manager_enabled: false, password_manager_leak_detection: false, mixed_forms_warnings: false },
  autofill: { enabled: false, profile_enabled: false, credit_card_enabled: false },
  translate: { enabled: false },
  browser: { check_default_browser: false },
  download_restrictions: 3,
  printing: { enabled: false },
} as const;

/** Writes PROFILE_PREFERENCES into a fresh profile directory (Chromium reads Default/Preferences at launch). */
export function writeProfilePreferences(profileDir: string): void {
  const dir = join(profileDir, 'Default');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, 'Preferences');
  if (!existsSync(file)) writeFileSync(file, JSON.stringify(PROFILE_PREFERENCES), { mode: 0o600 });
}

/**
 * Launches Chromium on the display with a fresh profile; resolves with the profile's context, whose first page is
 * the kiosk page. `home` becomes the browser's HOME: its NSS database (~/.pki/nssdb) holds any CA imported for the
 * BMC. `signal` calls the launch off (the browser is killed).
 */
export async function launchChromium(
  o: ChromiumOptions,
  profileDir: string,
  home: string,
  signal?: AbortSignal,
): Promise<BrowserContext> {
  writeProfilePreferences(profileDir);
  const browser = await launchBrowser({
    executablePath: CHROMIUM_EXECUTABLE,
    userDataDir: profileDir,
    args: chromiumArgs(o),
    env: childEnvironment({ ...displayEnvironment(o.display), HOME: home }),
    ...(signal ? { signal } : {}),
  });
  // Downloads are refused by the policy and the profile's preferences too; this covers a browser without either.
  await browser.connection.browserSession
    .send('Browser.setDownloadBehavior', { behavior: 'deny' })
    .catch(() => undefined);
  return browser.defaultContext();
}
