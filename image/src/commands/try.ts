/**
 * `bmc-console try`: runs Redfish discovery and the picked vendor script on this host (no container) in
 * Chromium, against the BMC emulator (--vendor without --url starts one) or a real BMC (--url), and saves a
 * screenshot after each step. For vendor-script authors: see docs/vendor-scripts.md.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Browser } from '../cdp/browser.js';
import { createLogger } from '@bmc-console/common/log';
import { browserTrust } from '../supervisor/browser-trust.js';
import { ConsoleFailure, type BmcTarget } from '../vendor-script.js';
import { launchTryBrowser, tryConsole } from './try-console.js';

const usage = `usage: bmc-console try --vendor PROFILE [--no-primary] [--fault NAME]...
       bmc-console try --url https://BMC --username USER (--password-file FILE | env BMC_PASSWORD)
options:
  --vendor PROFILE     emulator profile (idrac9, ilo5, xcc, supermicro-x13, openbmc, ami, ...); with --url only a label
  --url URL            a real BMC (or a running emulator) instead of starting an emulator
  --username USER      BMC user (default: the emulator's)
  --password-file FILE file holding the BMC password (else env BMC_PASSWORD; never on the command line)
  --verify-ca V        true (system trust), false (accept the BMC's certificate), or a CA bundle path; default:
                       false for the emulator, true for --url
  --root-prefix PATH   Redfish root (default /redfish/v1)
  --out DIR            screenshot directory (default: a new temporary directory)
  --headed             show the browser window (needs a DISPLAY)
  --hold               keep the console open until Ctrl-C, then close it (log out)
  --key-delay MS       typed-key pacing (default 0)
  --size WxH           viewport (default 1280x960)
  --no-primary         emulator: switch off the profile's primary launch path (tests the fallback)
  --fault NAME         emulator fault: wrong-password, kvm-busy, down (repeatable)
`;

export async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      strict: true,
      options: {
        vendor: { type: 'string' },
        url: { type: 'string' },
        username: { type: 'string' },
        'password-file': { type: 'string' },
        'verify-ca': { type: 'string' },
        'root-prefix': { type: 'string' },
        out: { type: 'string' },
        headed: { type: 'boolean' },
        hold: { type: 'boolean' },
        'key-delay': { type: 'string' },
        size: { type: 'string' },
        'no-primary': { type: 'boolean' },
        fault: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (e) {
    process.stderr.write(`bmc-console try: ${(e as Error).message}\n${usage}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(usage);
    return 0;
  }
  const bad = (msg: string): number => {
    process.stderr.write(`bmc-console try: ${msg}\n${usage}`);
    return 2;
  };
  if (!args.vendor && !args.url) return bad('give --vendor PROFILE (emulator) or --url https://BMC');
  const keyDelayMs = args['key-delay'] === undefined ? 0 : Number(args['key-delay']);
  if (!Number.isInteger(keyDelayMs) || keyDelayMs < 0)
    return bad(`--key-delay: expected a whole number of ms >= 0, got "${args['key-delay']}"`);
  let viewport = { width: 1280, height: 960 };
  if (args.size) {
    const m = /^(\d{3,5})x(\d{3,5})$/.exec(args.size);
    if (!m) return bad(`--size: expected WIDTHxHEIGHT such as 1280x960, got "${args.size}"`);
    viewport = { width: Number(m[1]), height: Number(m[2]) };
  }
  const faultNames: Record<string, Record<string, unknown>> = {
    'wrong-password': { wrongPassword: true },
    'kvm-busy': { kvmBusy: true },
    down: { down: true },
  };
  const faults: Record<string, unknown> = {};
  for (const f of args.fault ?? []) {
    const v = faultNames[f];
    if (!v) return bad(`--fault: unknown fault "${f}"; expected one of ${Object.keys(faultNames).join(', ')}`);
    Object.assign(faults, v);
  }
  let verifyCa: boolean | string | undefined;
  if (args['verify-ca'] !== undefined) {
    const v = args['verify-ca'];
    verifyCa = v === 'true' ? true : v === 'false' ? false : v;
    if (typeof verifyCa === 'string' && verifyCa.trim() === '')
      return bad('--verify-ca: expected true, false or a CA bundle path');
  }

  const log = createLogger('bmc-console-try', { level: process.env.LOG_LEVEL ?? 'warn' });
  const out = args.out ?? mkdtempSync(join(tmpdir(), 'bmc-console-try-'));
  let emulator: { close(): Promise<void> } | undefined;
  let bmc: BmcTarget;
  if (args.url) {
    let password = process.env.BMC_PASSWORD ?? '';
    if (args['password-file']) {
      try {
        password = readFileSync(args['password-file'], 'utf8').replace(/\r?\n$/, '');
      } catch (e) {
        return bad(
          `--password-file: cannot read ${args['password-file']}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        );
      }
    }
    if (!args.username) return bad('--username: required with --url');
    let origin: string;
    try {
      const u = new URL(/^[a-z]+:\/\//i.test(args.url) ? args.url : `https://${args.url}`);
      origin = u.origin;
    } catch {
      return bad(`--url: expected a URL such as https://10.0.0.5, got "${args.url}"`);
    }
    bmc = {
      origin,
      rootPrefix: args['root-prefix'] ?? '/redfish/v1',
      username: args.username,
      password,
      verifyCa: verifyCa ?? true,
    };
  } else {
    // The emulator is another workspace package; loaded only when asked for, so `try --url` works without it.
    const { startEmulator } = await import('@bmc-console/bmc-emulator/emulator');
    const { PROFILE_NAMES } = await import('@bmc-console/bmc-emulator/profiles');
    if (!(PROFILE_NAMES as readonly string[]).includes(args.vendor ?? ''))
      return bad(`--vendor: unknown profile "${args.vendor}"; expected one of ${PROFILE_NAMES.join(', ')}`);
    const emu = await startEmulator({
      vendor: args.vendor as (typeof PROFILE_NAMES)[number],
      ...(args.username ? { username: args.username } : {}),
      ...(args['no-primary'] ? { noPrimary: true } : {}),
      faults,
    });
    emulator = emu;
    process.stdout.write(`emulator ${emu.profile} at ${emu.url} (state: ${emu.controlUrl}/__emulator/state)\n`);
    bmc = {
      origin: new URL(emu.url).origin,
      rootPrefix: '/redfish/v1',
      username: emu.username,
      password: emu.password,
      verifyCa: verifyCa ?? false,
    };
  }

  // The browser trusts the BMC as the console's would (verify_ca): a pin, or the CA bundle in an NSS database that
  // lives in a throw-away HOME, so the user's own browser profile is never touched.
  const home = mkdtempSync(join(tmpdir(), 'bmc-console-try-home-'));
  let browser: Browser | undefined;
  let code = 0;
  try {
    const trustArgs = await browserTrust({ origin: bmc.origin, verifyCa: bmc.verifyCa, home });
    const env = { ...process.env, HOME: home, XAUTHORITY: process.env.XAUTHORITY ?? join(homedir(), '.Xauthority') };
    browser = await launchTryBrowser({ headed: args.headed === true, args: trustArgs, env });
    const c = await tryConsole({
      browser,
      bmc,
      outDir: out,
      viewport,
      keyDelayMs,
      log,
      onStep: (step, file) => process.stdout.write(`step: ${step}${file ? `\n  screenshot: ${file}` : ''}\n`),
    });
    process.stdout.write(
      `discovery: ${c.discovery.vendor} ${c.discovery.family} ${c.discovery.generation ?? '-'} -> script ${c.script.family}\n`,
    );
    process.stdout.write(`console open; screenshot: ${c.screenshots.at(-1) ?? '(none)'}\n`);
    process.stdout.write(`isAlive: ${await c.script.isAlive(c.ctx)}\n`);
    if (args.hold) {
      process.stdout.write('holding the console open; Ctrl-C closes it\n');
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    }
    await c.close();
    process.stdout.write('closed (logged out)\n');
  } catch (e) {
    code = 1;
    if (e instanceof ConsoleFailure) process.stderr.write(`failed (${e.kind}): ${e.cause}\n  hint: ${e.hint}\n`);
    else
      process.stderr.write(
        `failed: ${browser ? '' : 'cannot start Chromium: '}${e instanceof Error ? e.message : String(e)}\n`,
      );
    if (browser) process.stderr.write(`screenshots in ${out}\n`);
  } finally {
    await browser?.close().catch(() => undefined);
    await emulator?.close().catch(() => undefined);
    rmSync(home, { recursive: true, force: true });
  }
  return code;
}
