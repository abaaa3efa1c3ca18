/**
 * Certificate trust through the agent: every emulator profile x verify_ca {false, a CA bundle, true with the
 * emulator's CA in the console's system store} x {cold start, pooled start}. A plain VNC client must see the
 * profile's KVM marker, and the emulator must have opened that KVM by the profile's primary launch path.
 *
 * "System store" is how an operator would do it (docs/image.md): an image derived from the console image with the CA
 * in /usr/local/share/ca-certificates and update-ca-certificates run. The default run (CI) takes each profile once,
 * trust mode and start kind rotating with REL_ROTATION (or GITHUB_RUN_NUMBER, else the day), plus XCC in all six
 * cells; REL_FULL=1 (`--full`) runs all 102.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getProfile, PROFILE_NAMES, type ProfileName } from '@bmc-console/bmc-emulator/profiles';
import { caSignedTls } from '@bmc-console/bmc-emulator/tls';
import { POOL_NAME_PREFIX } from '@bmc-console/host-agent/providers/podman/pool';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caConsoleImage, type CaImage } from '../src/ca-image.js';
import { CONSOLE_IMAGE, consoleImageMissing } from '../src/preconditions.js';
import { until } from '../src/until.js';
import { podman } from './lib/podman.js';
import { record } from './lib/record.js';
import {
  consoleFrame,
  REL_PASSWORD,
  screenText,
  showsKvm,
  startRelStack,
  stopWatching,
  type RelStack,
} from './lib/rel-stack.js';
import { FULL } from './lib/sizes.js';

const MODES = ['false', 'bundle', 'system'] as const;
const KINDS = ['cold', 'pooled'] as const;
type Mode = (typeof MODES)[number];
type Kind = (typeof KINDS)[number];
interface Cell {
  profile: ProfileName;
  mode: Mode;
  kind: Kind;
}

const PROFILES = PROFILE_NAMES.filter((p) => p !== 'unknown');
const ROTATION = Number(
  process.env.REL_ROTATION ?? process.env.GITHUB_RUN_NUMBER ?? Math.floor(Date.now() / 86_400_000),
);

/** The cells this run takes: all of them, or each profile once (six runs in a row cover its six cells) plus XCC's six. */
function cells(full: boolean, rotation: number): Cell[] {
  const all = PROFILES.flatMap((profile) => MODES.flatMap((mode) => KINDS.map((kind) => ({ profile, mode, kind }))));
  if (full) return all;
  const picked = PROFILES.map((profile, i) => {
    const c = (((i + rotation) % 6) + 6) % 6;
    return { profile, mode: MODES[c % 3]!, kind: KINDS[Math.floor(c / 3)]! };
  });
  const key = (c: Cell) => `${c.profile}/${c.mode}/${c.kind}`;
  const seen = new Set(picked.map(key));
  return [...picked, ...all.filter((c) => c.profile === 'xcc' && !seen.has(key(c)))];
}

const MODE_TEXT: Record<Mode, string> = {
  false: 'verify_ca false (pins)',
  bundle: 'verify_ca CA bundle',
  system: 'verify_ca true, CA in the system store',
};

const skip = consoleImageMissing();
if (skip) console.warn(`skipping the trust matrix: ${skip}`);

describe.skipIf(skip)('trust matrix', () => {
  // Under tmpdir(): the stack's ca_bundle_dir, so verify_ca may name the CA file there.
  const caDir = mkdtempSync(join(tmpdir(), 'trust-matrix-ca-'));
  const stacks = new Map<string, RelStack>();
  const timings: { cell: string; seconds: number }[] = [];
  const suiteStart = Date.now();
  let caImage: CaImage | undefined;

  /** One stack per image and start kind: a pool serves every start of its agent, so cold starts need an agent without one. */
  async function stackFor(kind: Kind, image: string): Promise<RelStack> {
    const key = `${kind}-${image === CONSOLE_IMAGE ? 'plain' : 'ca'}`;
    let s = stacks.get(key);
    if (!s) {
      s = await startRelStack(`trust-${key}`, { console_image: image, container_pool_size: kind === 'pooled' ? 1 : 0 });
      stacks.set(key, s);
    }
    return s;
  }

  /** Fills the stack's pool and waits until its console waits for a node, so the start is surely a pooled one. */
  async function poolReady(stack: RelStack): Promise<string> {
    await stack.agent.prepare();
    return until(
      'a pooled console waiting for its node',
      async () => {
        const { stdout } = await podman([
          'ps',
          '--filter',
          `label=io.bmc-console.pool=${stack.agentHost}`,
          '--format',
          '{{.Names}}',
        ]);
        const name = stdout.split('\n').find((n) => n.startsWith(POOL_NAME_PREFIX));
        if (!name) return null;
        const logs = await podman(['logs', name]);
        return `${logs.stdout}${logs.stderr}`.includes('waiting to be assigned a node') ? name : null;
      },
      120_000,
      250,
    );
  }

  beforeAll(async () => {
    // The emulators of the bundle and system modes share this CA (caSignedTls reuses ca.pem), made here once.
    await caSignedTls(caDir, 'trust-matrix-probe');
    // What an operator does (docs/image.md "verify_ca in the browser"): an image with the CA in the system store.
    caImage = await caConsoleImage(join(caDir, 'ca.pem'), 'bmc-console-trust-ca');
  });

  afterAll(async () => {
    for (const s of stacks.values()) await s.close();
    caImage?.remove();
    rmSync(caDir, { recursive: true, force: true });
    const total = (Date.now() - suiteStart) / 1000;
    const per = timings.map((t) => t.seconds);
    if (per.length)
      record({
        test: 'trust matrix: timing',
        area: 'trust',
        tried: `${per.length} console starts (${FULL ? 'full matrix' : `rotation ${ROTATION}`})`,
        held: `${total.toFixed(0)} s in all; KVM on screen after ${Math.min(...per).toFixed(1)}-${Math.max(...per).toFixed(1)} s (median ${per.sort((a, b) => a - b)[Math.floor(per.length / 2)]!.toFixed(1)} s)`,
      });
  });

  for (const cell of cells(FULL, ROTATION)) {
    const title = `${cell.profile}, ${MODE_TEXT[cell.mode]}, ${cell.kind} start: the KVM by its primary launch path`;
    it(title, async () => {
      const stack = await stackFor(cell.kind, cell.mode === 'system' ? caImage!.image : CONSOLE_IMAGE);
      const emu = await stack.emulator(cell.profile, {
        password: REL_PASSWORD,
        ...(cell.mode === 'false' ? {} : { caDir }),
      });
      const node = `trust-${process.pid}-${cell.profile}-${cell.mode}-${cell.kind}`;
      const primary = getProfile(cell.profile).launch?.primary;
      const verifyCa = cell.mode === 'false' ? false : cell.mode === 'bundle' ? join(caDir, 'ca.pem') : true;
      try {
        if (cell.kind === 'pooled') await poolReady(stack);
        const t0 = Date.now();
        await stack.startConsole(node, emu, { appInfo: { verify_ca: verifyCa } });
        const pool = (
          await podman(['inspect', `bmc-console-${node}`, '--format', '{{index .Config.Labels "io.bmc-console.pool"}}'])
        ).stdout.trim();
        expect(pool === stack.agentHost ? 'pooled' : 'cold').toBe(cell.kind);
        let seconds = 0;
        try {
          await until(
            `the ${cell.profile} KVM marker on ${node}'s screen`,
            async () => (await showsKvm(stack, node, cell.profile)) || null,
            90_000,
            500,
          );
          seconds = (Date.now() - t0) / 1000;
        } catch (err) {
          const text = await screenText(await consoleFrame(stack, node)).catch(() => '');
          record({
            test: title,
            area: 'trust',
            tried: `${cell.profile}, ${MODE_TEXT[cell.mode]}, ${cell.kind} start`,
            held: `no KVM on screen; the screen says: ${text.replace(/\s+/g, ' ').slice(0, 160)}`,
          });
          throw err;
        }
        timings.push({ cell: title, seconds });
        const launches = emu.state().launches;
        record({
          test: title,
          area: 'trust',
          tried: `${cell.profile}, ${MODE_TEXT[cell.mode]}, ${cell.kind} start; VNC client looks for the KVM marker`,
          held: `KVM marker on screen after ${seconds.toFixed(1)} s; opened by ${launches.join(', ') || 'nothing'} (primary: ${primary})`,
        });
        expect(launches[0]).toBe(primary);
      } finally {
        stopWatching(node);
        await stack.agent.stop(node).catch(() => undefined);
        const i = stack.emulators.indexOf(emu);
        if (i >= 0) stack.emulators.splice(i, 1);
        await emu.close();
      }
    }, 240_000);
  }
});
