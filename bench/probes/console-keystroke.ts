/**
 * Keystroke -> echo on the VNC screen, per variant of the console image: for each variant one console with the test
 * page (APP=fake, which writes what was typed) and one viewer that keeps asking for updates (as noVNC does); the
 * variants take turns, one key each, after a pause that alternates between short (typing) and long (the first key
 * after a rest, when x11vnc polls at its idle pace). Timed from the key's send to the first update in which the
 * typed line's pixels changed. Prints the median and p90 per variant and pause. Variants as in console-cpu.ts
 * (LABEL=ARGS, more `podman run` arguments; `@IMAGE` for another image).
 * Usage: node --conditions=source --import tsx bench/probes/console-keystroke.ts [--keys N] --variant a= --variant 'b=-v /tmp/w/x11vnc:/usr/local/bin/x11vnc:ro'
 */
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { RfbClient } from '@bmc-console/common/rfb/client';
import { freePort } from '@bmc-console/common/free-port';
import { podmanEnvFor, startConsoleContainer } from '../src/console-run-flags.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const podmanEnv = podmanEnvFor(root);
const KEY_A = 0x61;
const KEY_BACKSPACE = 0xff08;
const PAUSES_MS = [400, 3000];

/** A checksum of the rows where the test page writes what was typed (62 % down the screen). */
function typedLine(c: RfbClient): number {
  const top = Math.floor(c.height * 0.6);
  const bottom = Math.floor(c.height * 0.7);
  let sum = 0;
  for (let i = top * c.width * 4; i < bottom * c.width * 4; i += 4)
    sum = (sum * 31 + c.framebuffer[i]! + c.framebuffer[i + 1]! * 7) >>> 0;
  return sum;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const keys = args.includes('--keys') ? Number(args[args.indexOf('--keys') + 1]) : 40;
  const variants: { label: string; image: string; args: string[] }[] = [];
  for (let i = 0; i < args.length; i++)
    if (args[i] === '--variant') {
      const spec = args[++i] ?? '';
      const eq = spec.indexOf('=');
      const toks = spec
        .slice(eq + 1)
        .split(/\s+/)
        .filter(Boolean);
      variants.push({
        label: spec.slice(0, eq),
        image: toks.find((t) => t.startsWith('@'))?.slice(1) ?? 'localhost/bmc-console:latest',
        args: toks.filter((t) => !t.startsWith('@')),
      });
    }
  const names: string[] = [];
  try {
    const viewers: RfbClient[] = [];
    for (const [i, v] of variants.entries()) {
      const port = await freePort();
      const name = `key-probe-${process.pid}-${i}`;
      names.push(name);
      await startConsoleContainer({ name, port, image: v.image, env: { APP: 'fake' }, args: v.args, label: v.label });
      const c = await RfbClient.connect({ host: '127.0.0.1', port, timeoutMs: 30_000 });
      await c.requestUpdate(false);
      viewers.push(c);
      await sleep(3000);
      // The page takes keys once it has the focus, as a viewer's first click gives it.
      c.pointerEvent(Math.floor(c.width / 2), Math.floor(c.height / 2), 1);
      c.pointerEvent(Math.floor(c.width / 2), Math.floor(c.height / 2), 0);
    }
    await sleep(5000); // the test page up on every console
    const times = variants.map(() => PAUSES_MS.map((): number[] => []));
    for (let k = 0; k < keys; k++) {
      const p = k % PAUSES_MS.length;
      for (const [i, c] of viewers.entries()) {
        // Asking all the time, as noVNC does, while the page rests.
        const until = Date.now() + PAUSES_MS[p]!;
        while (Date.now() < until) await Promise.race([c.requestUpdate(true), sleep(Math.max(0, until - Date.now()))]);
        await c.requestUpdate(true).catch(() => undefined);
        const before = typedLine(c);
        const key = k % 4 < 2 ? KEY_A : KEY_BACKSPACE;
        const t0 = performance.now();
        c.keyEvent(key, true);
        c.keyEvent(key, false);
        while (typedLine(c) === before && performance.now() - t0 < 2000) await c.requestUpdate(true);
        times[i]![p]!.push(performance.now() - t0);
      }
    }
    const q = (xs: number[], f: number): number =>
      [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * f))] ?? Number.NaN;
    for (const [i, v] of variants.entries())
      for (const [p, pause] of PAUSES_MS.entries()) {
        const xs = times[i]![p]!;
        process.stdout.write(
          `${v.label.padEnd(12)} after ${String(pause).padStart(4)} ms: keystroke -> echo median ${q(xs, 0.5).toFixed(0)} ms, p90 ${q(xs, 0.9).toFixed(0)} ms (${xs.length} keys)\n`,
        );
      }
    for (const c of viewers) c.close();
  } finally {
    await Promise.all(
      names.map(
        (n) => new Promise((r) => execFile('podman', ['rm', '--force', '--time', '2', n], { env: podmanEnv }, r)),
      ),
    );
  }
}

await main();
