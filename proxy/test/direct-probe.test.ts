// `bmc-console-proxy direct probe` against the emulator: in process for the outcomes, and once as a program through
// cli.ts's dispatch with the password on stdin.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEmulator, type RunningEmulator } from '@bmc-console/bmc-emulator/emulator';
import { tempDir } from '@bmc-console/common/testing/temp-dir';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { directMain } from '../src/direct/probe-cli.js';

const PASSWORD = 'Probe-pw1';
let idrac: RunningEmulator;
let obmc: RunningEmulator;
beforeAll(async () => {
  idrac = await startEmulator({ vendor: 'idrac9', node: 'probe-node', password: PASSWORD });
  obmc = await startEmulator({ vendor: 'openbmc', node: 'probe-node', password: PASSWORD });
});
afterAll(async () => {
  await Promise.all([idrac?.close(), obmc?.close()]);
});

async function run(args: string[], stdin = `${PASSWORD}\n`): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await directMain(args, {
    out: (s) => void (out += s),
    err: (s) => void (err += s),
    readStdin: async () => stdin,
    log: pino({ level: 'silent' }),
  });
  return { code, out, err };
}

const base = (e: RunningEmulator, vendor: string) => [
  'probe',
  '--vendor',
  vendor,
  '--address',
  e.url,
  '--username',
  e.username,
  '--verify-ca',
  'false',
  '--password-stdin',
];

describe('direct probe', () => {
  it('reads a frame from iDRAC, writes the PNG, prints each step, logs out', async () => {
    const png = join(tempDir('direct-probe-'), 'frame.png');
    const r = await run([...base(idrac, 'idrac9'), '--png', png]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^login: ok in \d+ ms\nkvm: ok in \d+ ms\nrfb: 1024x768 "OpenVNC" in \d+ ms\n/);
    expect(r.out).toMatch(/frame: full 1024x768 in \d+ ms\npng: .*frame\.png\nlogout: ok in \d+ ms\n$/);
    const bytes = readFileSync(png);
    expect(bytes.subarray(1, 4).toString()).toBe('PNG');
    expect([bytes.readUInt32BE(16), bytes.readUInt32BE(20)]).toEqual([1024, 768]);
    expect(idrac.state().webSessions).toBe(0);
    expect(idrac.state().logouts.map((l) => l.kind)).toEqual(expect.arrayContaining(['kvm', 'web']));
  });

  it('exits 3 naming the step, 1 on usage errors', async () => {
    const bad = await run(base(obmc, 'openbmc'), 'nope\n');
    expect(bad.code).toBe(3);
    expect(bad.err).toBe('probe failed: login: the BMC rejected the user name or password (HTTP 401)\n');
    const noStdin = await run(base(obmc, 'openbmc').filter((a) => a !== '--password-stdin'));
    expect(noStdin.code).toBe(1);
    expect(noStdin.err).toMatch(/--password-stdin is required/);
    expect((await run(['probe', '--vendor', 'ilo5'])).code).toBe(1);
    expect((await run(['nonsense'])).code).toBe(1);
  });

  it('runs as `bmc-console-proxy direct probe` with the password on stdin', async () => {
    const child = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', 'proxy/src/cli.ts', 'direct', ...base(obmc, 'openbmc')],
      { cwd: join(import.meta.dirname, '../..'), stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.stdin.end(`${PASSWORD}\n`);
    const code = await new Promise((resolve) => child.once('close', resolve));
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toContain('rfb: 1024x768 "OpenBMC IKVM"');
  });
});
