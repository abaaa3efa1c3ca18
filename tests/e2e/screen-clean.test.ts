/**
 * Nothing but the KVM on the console's screen. Every emulator profile, through the agent and the real console
 * container, in each trust mode (verify_ca false; a CA bundle; verify_ca true with the emulator's CA in the system
 * store of an image derived the way an operator would, tests/src/ca-image.ts). A real RFB client reads the whole VNC
 * frame straight from the console a few seconds after the KVM shows (Chromium's "Save password?" bubble came right
 * after a form login) and checks:
 *  (a) OCR of the whole frame (doubled: tesseract misses small UI text at 1x) holds neither the BMC user name, nor
 *      the password, nor the word "password";
 *  (b) the frame is the emulator's KVM host screen and nothing else: the canvas fills the screen (its marker square
 *      at the top-left corner), and outside that square there is no solid block of any colour but the host
 *      screen's black, and no coloured pixels beyond anti-aliasing (the host screen draws grey text only). A bubble,
 *      infobar, dialog, error page or banner of Chromium's or ours has both.
 *
 * verify_ca true runs on a second agent whose console_image is the derived image. By default it takes a third of
 * the profiles, rotating with REL_ROTATION (or GITHUB_RUN_NUMBER, else the day), plus XCC (its viewer socket is a
 * second TLS port); REL_FULL=1 takes every profile.
 * Lenovo XCC with verify_ca false does not show its KVM (the viewer port's certificate is not pinned, see
 * image/src/supervisor/browser-trust.ts): those cases check (a) only, on whatever the screen shows.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kvmMarkerColor } from '@bmc-console/bmc-emulator/marker';
import { PROFILE_NAMES, type ProfileName } from '@bmc-console/bmc-emulator/profiles';
import { caSignedTls } from '@bmc-console/bmc-emulator/tls';
import { rfbEndpoint } from '@bmc-console/common/contracts/agent-api';
import { RfbClient } from '@bmc-console/common/rfb/client';
import { consoleName } from '@bmc-console/host-agent/providers/console-names';
import { caConsoleImage, type CaImage } from '../src/ca-image.js';
import { limiter } from '../src/limiter.js';
import { consoleImageMissing } from '../src/preconditions.js';
import { containsApprox, findColourBlock, ocr, type Colour, type Rgba } from '../src/screen.js';
import { startStack, type Stack } from '../src/stack.js';
import { until } from '../src/until.js';
import { tempDir } from '@bmc-console/common/testing/temp-dir';

const skip = consoleImageMissing();
if (skip) console.warn(`skipping the screen-clean tests: ${skip}`);

type Trust = 'verify_ca false' | 'CA bundle' | 'verify_ca true';
const PROFILES = PROFILE_NAMES.filter((p): p is Exclude<ProfileName, 'unknown'> => p !== 'unknown');
const FULL = /^(1|true|yes)$/i.test(process.env.REL_FULL ?? '');
const ROTATION = Number(
  process.env.REL_ROTATION ?? process.env.GITHUB_RUN_NUMBER ?? Math.floor(Date.now() / 86_400_000),
);
/** verify_ca true costs a console per profile like the others: CI takes a rotating third (three runs cover all) and XCC. */
const withSystemCa = (p: ProfileName, i: number) => FULL || p === 'xcc' || (((i + ROTATION) % 3) + 3) % 3 === 0;
const CASES = PROFILES.flatMap((profile, i) => {
  const trusts: Trust[] = [
    'verify_ca false',
    'CA bundle',
    ...(withSystemCa(profile, i) ? (['verify_ca true'] as const) : []),
  ];
  return trusts.map((trust) => ({ profile, trust }));
});
const NODE_SUFFIX: Record<Trust, string> = { 'verify_ca false': 'pin', 'CA bundle': 'ca', 'verify_ca true': 'sys' };
/** Consoles at once: most of a case is waiting (container start, BMC login), but each console is a Chromium. */
const PARALLEL = 3;
/** After the KVM shows: Chromium's password bubble opened within a second of the login in every run seen. */
const SETTLE_MS = 3000;
/** How long after that the screen may take to lose anything else (our step banner) before the check fails. */
const CLEAN_WITHIN_MS = 15_000;

function toPng(f: Rgba): Buffer {
  const png = new PNG({ width: f.width, height: f.height });
  f.rgba.copy(png.data);
  return PNG.sync.write(png);
}

/** Twice the size, pixel for pixel: tesseract misses Chromium's small UI text (the bubble's "Save password?") at 1x. */
function doubled(f: Rgba): Rgba {
  const w = f.width * 2;
  const rgba = Buffer.alloc(w * f.height * 2 * 4);
  for (let y = 0; y < f.height * 2; y++)
    for (let x = 0; x < w; x++)
      f.rgba.copy(rgba, (y * w + x) * 4, ((y >> 1) * f.width + (x >> 1)) * 4, ((y >> 1) * f.width + (x >> 1)) * 4 + 4);
  return { width: w, height: f.height * 2, rgba };
}

/** The frame as RGBA (x11vnc sends 32-bit pixels, which RfbClient stores as RGBA with an unused alpha). */
function frameOf(c: RfbClient): Rgba {
  const rgba = Buffer.from(c.framebuffer);
  for (let i = 3; i < rgba.length; i += 4) rgba[i] = 255;
  return { width: c.width, height: c.height, rgba };
}

/**
 * What on the frame is not the emulator's KVM host screen, or null. The host screen is black with grey text and
 * the marker square at the canvas's top-left corner; the canvas (1024x768, 4:3) fills a 4:3 screen.
 */
function notTheKvm(f: Rgba, marker: Colour): string | null {
  const markerSide = Math.round((64 * f.width) / 1024);
  const at = findColourBlock({ ...f }, marker, Math.floor(markerSide * 0.8));
  if (!at || at.x > 4 || at.y > 4)
    return `the KVM marker is not at the top-left corner (found at ${at ? `${at.x},${at.y}` : 'nowhere'}): the canvas does not fill the screen`;
  const inMarker = (x: number, y: number) => x < markerSide + 3 && y < markerSide + 3;
  const px = (x: number, y: number): [number, number, number] => {
    const i = (y * f.width + x) * 4;
    return [f.rgba[i]!, f.rgba[i + 1]!, f.rgba[i + 2]!];
  };
  // Coloured pixels: the host screen's text is grey (r = g = b), its edges too.
  let coloured = 0;
  let firstColoured = '';
  for (let y = 0; y < f.height; y++)
    for (let x = 0; x < f.width; x++) {
      if (inMarker(x, y)) continue;
      const [r, g, b] = px(x, y);
      if (Math.max(r, g, b) - Math.min(r, g, b) > 40) {
        if (!coloured) firstColoured = `${x},${y} rgb(${r},${g},${b})`;
        coloured++;
      }
    }
  if (coloured > 200) return `${coloured} coloured pixels outside the marker (first at ${firstColoured})`;
  // Solid blocks of anything but black: text strokes are a few pixels wide, a bubble or banner is a surface.
  const side = 24;
  for (let y = 0; y + side <= f.height; y += side / 2)
    for (let x = 0; x + side <= f.width; x += side / 2) {
      if (inMarker(x + side - 1, y + side - 1)) continue;
      const [r0, g0, b0] = px(x, y);
      if (r0 + g0 + b0 < 60) continue;
      let solid = true;
      for (let dy = 0; dy < side && solid; dy += 3)
        for (let dx = 0; dx < side && solid; dx += 3) {
          const [r, g, b] = px(x + dx, y + dy);
          solid = Math.abs(r - r0) + Math.abs(g - g0) + Math.abs(b - b0) < 30;
        }
      if (solid) return `a solid ${side}x${side} block of rgb(${r0},${g0},${b0}) at ${x},${y}`;
    }
  return null;
}

/** The console container's log (stdout and stderr). */
async function consoleLog(node: string): Promise<string> {
  const { stdout, stderr } = await promisify(execFile)('podman', ['logs', consoleName(node)], { maxBuffer: 16 << 20 });
  return stdout + stderr;
}

/** Secrets and giveaways in OCR'd text: a short user name must match as a word, longer strings allow OCR slips. */
function leaks(text: string, username: string, password: string): string[] {
  const found: string[] = [];
  const word = (w: string) =>
    new RegExp(`(^|[^a-z0-9])${w.toLowerCase().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([^a-z0-9]|$)`).test(text);
  if (username.length <= 5 ? word(username) : containsApprox(text, username, 1)) found.push('the BMC user name');
  if (containsApprox(text, password, 2)) found.push('the BMC password');
  if (containsApprox(text, 'password', 2)) found.push('the word "password"');
  return found;
}

describe('the screen checks themselves', () => {
  const marker = kvmMarkerColor('idrac8');
  type Canvas = Rgba & { paint(x: number, y: number, w: number, h: number, c: Colour): void };
  /** A 1280x960 host screen: black, the marker square, a line of grey text. */
  const hostScreen = (): Canvas => {
    const f = { width: 1280, height: 960, rgba: Buffer.alloc(1280 * 960 * 4) };
    const paint = (x0: number, y0: number, w: number, h: number, c: Colour) => {
      for (let y = y0; y < y0 + h; y++)
        for (let x = x0; x < x0 + w; x++) f.rgba.set([c.r, c.g, c.b, 255], (y * f.width + x) * 4);
    };
    paint(0, 0, 1280, 960, { r: 0, g: 0, b: 0 });
    paint(0, 0, 80, 80, marker);
    for (let x = 120; x < 600; x += 6) paint(x, 40, 2, 30, { r: 224, g: 224, b: 224 });
    return Object.assign(f, { paint });
  };

  it('take the host screen as it is, and catch a bubble over it or a canvas that does not fill the screen', () => {
    const clean = hostScreen();
    expect(notTheKvm(clean, marker)).toBeNull();
    const bubble = hostScreen();
    bubble.paint(830, 0, 450, 380, { r: 255, g: 255, b: 255 });
    expect(notTheKvm(bubble, marker)).toMatch(/solid/);
    const offset = hostScreen();
    offset.paint(0, 0, 80, 80, { r: 0, g: 0, b: 0 });
    offset.paint(40, 40, 80, 80, marker);
    expect(notTheKvm(offset, marker)).toMatch(/top-left/);
  });

  it('find the user name, the password and the word in OCR text, with OCR slips', () => {
    expect(leaks('node: n1 n1 login: _ typed: clicks: 0', 'root', 'Zq7pass-Secret')).toEqual([]);
    expect(leaks('save passw0rd? username root', 'root', 'Zq7pass-Secret')).toEqual([
      'the BMC user name',
      'the word "password"',
    ]);
    expect(leaks('zq7pass-5ecret', 'Administrator', 'Zq7pass-Secret')).toEqual(['the BMC password']);
  });
});

describe.skipIf(skip)('the console screen shows the KVM and nothing else', () => {
  let stack: Stack;
  /** The agent for verify_ca true: its console_image is the derived image (an agent has one image). */
  let caStack: Stack;
  let caImage: CaImage | undefined;
  // One CA for every emulator of the file (caSignedTls reuses ca.pem), so one derived image serves them all; under
  // the temp dir, which is the stack's ca_bundle_dir, so a CA bundle may name it.
  const caDir = tempDir('screen-clean-ca-');
  const run = limiter(PARALLEL);
  const t0 = Date.now();
  beforeAll(async () => {
    await caSignedTls(caDir, 'screen-clean-probe');
    caImage = await caConsoleImage(join(caDir, 'ca.pem'), 'bmc-console-screen-clean-ca');
    stack = await startStack();
    caStack = await startStack({ agent: { console_image: caImage.image, agent_host: `stack-${process.pid}-ca` } });
  }, 300_000);
  afterAll(async () => {
    await stack?.close();
    await caStack?.close();
    caImage?.remove();
    console.info(
      `screen-clean: ${CASES.length} consoles (verify_ca true for ${CASES.filter((c) => c.trust === 'verify_ca true')
        .map((c) => c.profile)
        .join(', ')}) in ${Math.round((Date.now() - t0) / 1000)} s`,
    );
  });

  it.concurrent.each(CASES)(
    '$profile, $trust',
    ({ profile, trust }) =>
      run(async () => {
        const node = `clean-${profile}-${NODE_SUFFIX[trust]}`;
        const s = trust === 'verify_ca true' ? caStack : stack;
        const emu = await s.emulator(profile, { node, ...(trust === 'verify_ca false' ? {} : { caDir }) });
        let rfb: RfbClient | undefined;
        try {
          await s.startConsole(node, emu, {
            appInfo: { verify_ca: trust === 'verify_ca false' ? false : trust === 'CA bundle' ? emu.caFile : true },
          });
          const target = await s.agent.target(node);
          // A VNC viewer straight on the console: the KVM opens for it (KVM_RELEASE_AFTER).
          rfb = await RfbClient.connect({
            ...rfbEndpoint(target),
            ...(target.vncPassword ? { password: target.vncPassword } : {}),
            timeoutMs: 20_000,
          });
          const marker = kvmMarkerColor(profile);
          const kvmExpected = !(profile.startsWith('xcc') && trust === 'verify_ca false');
          const frame = async (): Promise<Rgba> => {
            await rfb!.requestUpdate(false);
            return frameOf(rfb!);
          };
          // Kept for a person to look at (git-ignored), whatever the outcome.
          const keep = (f: Rgba) => {
            const shots = join(process.cwd(), '.work', 'screenshots');
            mkdirSync(shots, { recursive: true });
            writeFileSync(join(shots, `screen-clean-${node}.png`), toPng(f));
          };
          let last = await frame();
          const deadline = Date.now() + (kvmExpected ? 90_000 : 25_000);
          while (Date.now() < deadline && !findColourBlock(last, marker, 40)) {
            await new Promise((r) => setTimeout(r, 500));
            last = await frame();
          }
          if (kvmExpected) {
            keep(last);
            expect(findColourBlock(last, marker, 40), `the ${profile} KVM on the console's screen`).not.toBeNull();
            // The canvas draws before the vendor script is done (full screen, our step banner removed): wait for it.
            await until(
              `the ${profile} console to log that the KVM is showing`,
              async () => (await consoleLog(node)).includes('the KVM is showing'),
              60_000,
              1000,
            );
          }
          await new Promise((r) => setTimeout(r, SETTLE_MS));
          last = await frame();
          // Our step banner goes at the page's next poll of the step, which a loaded machine can hold up a while.
          const cleanBy = Date.now() + CLEAN_WITHIN_MS;
          while (kvmExpected && notTheKvm(last, marker) && Date.now() < cleanBy) {
            await new Promise((r) => setTimeout(r, 500));
            last = await frame();
          }
          if (kvmExpected && Date.now() > cleanBy - CLEAN_WITHIN_MS + 600)
            console.info(
              `${node}: the screen took ${Math.round((Date.now() - cleanBy + CLEAN_WITHIN_MS) / 100) / 10} s more to show the KVM alone`,
            );
          keep(last);
          const text = await ocr(toPng(doubled(last)));
          expect(leaks(text, emu.username, emu.password), `OCR of the ${profile} console (${trust})`).toEqual([]);
          if (kvmExpected) expect(notTheKvm(last, marker), `the ${profile} console's screen (${trust})`).toBeNull();
          const refused = (await consoleLog(node)).split('\n').filter((l) => l.includes('navigation refused')).length;
          if (refused) console.info(`${node}: the navigation guard refused ${refused} navigations`);
        } finally {
          rfb?.close();
          await s.agent.stop(node).catch(() => undefined);
          await emu.close();
        }
      }),
    240_000,
  );
});
