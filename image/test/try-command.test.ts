// `bmc-console try --url` on the host against an emulator whose certificates come from its own CA: the browser
// must trust the BMC exactly as verify_ca says (the XCC profile's viewer has a second TLS port, signed by that CA).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '@bmc-console/bmc-emulator/emulator';

const root = join(import.meta.dirname, '..', '..');
let emu: RunningEmulator;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'try-command-'));
  emu = await startEmulator({ vendor: 'xcc', caDir: join(dir, 'ca') });
  writeFileSync(join(dir, 'password'), emu.password, { mode: 0o600 });
});

afterAll(async () => {
  await emu?.close();
  rmSync(dir, { recursive: true, force: true });
});

function tryCli(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', join(root, 'image', 'src', 'cli.ts'), 'try', ...args],
      { cwd: root, env: { ...process.env, BMC_PASSWORD: '' } },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

describe('bmc-console try --url --verify-ca', () => {
  it('opens the XCC console with the CA bundle (both TLS ports), and names TLS when the CA is not trusted', async () => {
    const base = [
      '--url',
      emu.url,
      '--username',
      emu.username,
      '--password-file',
      join(dir, 'password'),
      '--out',
      join(dir, 'shots'),
    ];
    const ok = await tryCli([...base, '--verify-ca', emu.caFile!]);
    expect(ok.err).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/discovery: lenovo xcc/i);
    expect(ok.out).toContain('isAlive: true');
    expect(ok.out).toContain('closed (logged out)');
    expect(ok.out + ok.err).not.toContain(emu.password);

    const untrusted = await tryCli(base); // --url defaults to verify_ca true: the system store does not know the CA
    expect(untrusted.code).not.toBe(0);
    expect(untrusted.err).toMatch(/tls|certificate/i);
    expect(untrusted.out + untrusted.err).not.toContain(emu.password);
  }, 120_000);
});
