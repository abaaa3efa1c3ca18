/**
 * Discovery over real HTTPS against the BMC emulator (bmc-emulator/, written separately from the same documents):
 * every profile is detected as itself, through the RedfishClient with a session that is deleted afterwards; real
 * captures served by the emulator are detected as expected.tsv says; and `bmc-console detect` (the CLI, in a
 * child process) with the password from the environment, a custom CA, and a wrong password.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { discover } from '@bmc-console/common/discovery/discover';
import { createRedfishClient } from '@bmc-console/common/redfish/client';
import { main as detectMain } from 'bmc-console/commands/detect';
import { capturesMissing, REDFISH_CAPTURES } from '@bmc-console/common/testing/redfish-captures';

const repoRoot = resolve(fileURLToPath(import.meta.url), '../../..');
const emulatorSource = resolve(repoRoot, 'bmc-emulator/src/emulator.ts');
const haveEmulator = existsSync(emulatorSource);
if (!haveEmulator) console.warn(`discovery-emulator: ${emulatorSource} is absent, skipping the emulator tests`);
const fixtures = REDFISH_CAPTURES;
const fixturesMissing = capturesMissing('expected.tsv');
const haveFixtures = fixturesMissing === undefined;
if (!haveFixtures) console.warn(`discovery-emulator: ${fixturesMissing}; the tests on real captures are skipped`);

type EmulatorModule = typeof import('@bmc-console/bmc-emulator/emulator');
type ProfilesModule = typeof import('@bmc-console/bmc-emulator/profiles');
const emulator = haveEmulator ? ((await import('@bmc-console/bmc-emulator/emulator')) as EmulatorModule) : undefined;
const profiles = haveEmulator ? ((await import('@bmc-console/bmc-emulator/profiles')) as ProfilesModule) : undefined;
const profileNames = profiles ? [...profiles.PROFILE_NAMES] : [];

/** Runs `bmc-console detect` from source in a child process. */
function detectCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', resolve(repoRoot, 'image/src/cli.ts'), 'detect', ...args],
      {
        cwd: repoRoot,
        env: { ...process.env, BMC_PASSWORD: '', BMC_USERNAME: '', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

describe.skipIf(!haveEmulator)('discovery against every emulator profile over HTTPS', () => {
  it.each(profileNames)('%s is detected as itself', async (name) => {
    const emu = await emulator!.startEmulator({ vendor: name });
    const client = createRedfishClient({
      origin: emu.url,
      rootPrefix: '/redfish/v1',
      username: emu.username,
      password: emu.password,
      verifyCa: false,
    });
    try {
      const d = await discover(client);
      expect({ family: d.family, generation: d.generation }).toEqual({
        family: emu.family,
        generation: profiles!.getProfile(name).generation,
      });
      expect(d.managerId).toBe(profiles!.getProfile(name).managerId);
      expect(emu.state().redfishSessions).toBe(1);
      await expect(client.logout()).resolves.toBe(true);
      expect(emu.state().redfishSessions).toBe(0);
    } finally {
      client.close();
      await emu.close();
    }
  });
});

describe.skipIf(!haveEmulator)(
  "Ironic's system_id picks the host of a multi-host BMC (openbmc profile: system, system2)",
  () => {
    it.each([
      [undefined, '/redfish/v1/Systems/system'],
      ['/redfish/v1/Systems/system2', '/redfish/v1/Systems/system2'],
      ['system2', '/redfish/v1/Systems/system2'],
      ['/redfish/v1/Systems/nosuch', '/redfish/v1/Systems/system'],
    ])('system_id %s -> %s', async (systemId, systemPath) => {
      const emu = await emulator!.startEmulator({ vendor: 'openbmc' });
      const client = createRedfishClient({
        origin: emu.url,
        rootPrefix: '/redfish/v1',
        username: emu.username,
        password: emu.password,
        verifyCa: false,
      });
      try {
        const d = await discover(client, systemId ? { systemId } : {});
        expect(d).toMatchObject({ family: 'openbmc', systemPath, managerPath: '/redfish/v1/Managers/bmc' });
        if (systemId === '/redfish/v1/Systems/nosuch')
          expect(d.evidence).toContain('system_id /redfish/v1/Systems/nosuch not found: using the first system');
      } finally {
        await client.logout();
        client.close();
        await emu.close();
      }
    });
  },
);

describe.skipIf(!haveEmulator || !haveFixtures)(
  'each hand-written profile reads like the real capture of its generation',
  () => {
    const pairs = [
      ['idrac7', '_unlicensed/dell-idrac7-12g-r820-fw2.65'],
      ['idrac9', 'dell-idrac9-15g-r750-fw7.10'],
      ['idrac10', 'dell-idrac10-17g-fw1.20-bmclib-abridged'],
      ['ilo4', 'hpe-ilo4-fw2.55-manager-only'],
      ['ilo5', 'hpe-ilo5-dl360gen10plus-fw3.11'],
      ['ilo6', 'hpe-ilo6-dl380agen11-fw1.66'],
      ['ilo7', 'hpe-ilo7-dl360gen12-fw1.14'],
      ['xcc', 'lenovo-xcc-sr670v2-fw2.83'],
      ['supermicro-x12', 'supermicro-x12-sys510t-mr1-bmc01.13.04'],
      ['supermicro-x13', 'supermicro-x13-sys821ge-tnhr-bmc11.01.01'],
    ] as const;
    it.each(pairs)('%s ~ %s', async (name, folder) => {
      const { FixtureSource } = await import('@bmc-console/common/redfish/fixture-source');
      const real = await discover(new FixtureSource(resolve(fixtures, folder)));
      const emu = await emulator!.startEmulator({ vendor: name });
      const client = createRedfishClient({
        origin: emu.url,
        rootPrefix: '/redfish/v1',
        username: emu.username,
        password: emu.password,
        verifyCa: false,
      });
      try {
        const fake = await discover(client);
        const pick = (d: typeof real) => ({
          vendor: d.vendor,
          family: d.family,
          generation: d.generation,
          managerId: d.managerId,
        });
        expect(pick(fake)).toEqual(pick(real));
      } finally {
        await client.logout();
        client.close();
        await emu.close();
      }
    });
  },
);

describe.skipIf(!haveEmulator || !haveFixtures)('discovery of real captures served by the emulator', () => {
  const cases = [
    ['dell-idrac9-15g-r750-fw6.00', 'dell', 'idrac', '9'],
    ['hpe-ilo5-dl385gen10plusv2-fw2.72', 'hpe', 'ilo', '5'],
    ['openbmc-nvidia-gh200', 'nvidia', 'openbmc', null],
  ] as const;
  it.each(cases)('%s', async (folder, vendor, family, generation) => {
    const emu = await emulator!.startEmulator({ fixture: resolve(fixtures, folder) });
    const client = createRedfishClient({
      origin: emu.url,
      username: emu.username,
      password: emu.password,
      verifyCa: false,
    });
    try {
      expect(await discover(client)).toMatchObject({ vendor, family, generation });
    } finally {
      await client.logout();
      client.close();
      await emu.close();
    }
  });
});

describe.skipIf(!haveEmulator)('bmc-console detect (CLI) against the emulator', () => {
  it('prints the discovery as JSON, verifying the BMC against --verify-ca CA_BUNDLE; password from BMC_PASSWORD', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const caDir = mkdtempSync(resolve(tmpdir(), 'detect-ca-'));
    const emu = await emulator!.startEmulator({ vendor: 'idrac9', caDir });
    try {
      expect(emu.caFile).toBeTruthy();
      const r = await detectCli(['--url', emu.url, '--username', emu.username, '--verify-ca', emu.caFile!], {
        BMC_PASSWORD: emu.password,
      });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout) as Record<string, unknown>;
      expect(out).toMatchObject({ vendor: 'dell', family: 'idrac', generation: '9', managerId: 'iDRAC.Embedded.1' });
      expect(Array.isArray(out.evidence)).toBe(true);
      // The CLI logged out: no Redfish session left behind on the BMC.
      expect(emu.state().redfishSessions).toBe(0);
    } finally {
      await emu.close();
      rmSync(caDir, { recursive: true, force: true });
    }
  });

  it('exit 3 on a wrong password and on an untrusted certificate, naming the URL, never the password', async () => {
    const emu = await emulator!.startEmulator({ vendor: 'ilo5' });
    try {
      const wrong = 'not-the-password-42';
      const auth = await detectCli(['--url', emu.url, '--username', emu.username, '--verify-ca', 'false'], {
        BMC_PASSWORD: wrong,
      });
      expect(auth.code).toBe(3);
      expect(auth.stderr).toContain('auth:');
      expect(auth.stderr).toContain(emu.url);
      expect(auth.stderr + auth.stdout).not.toContain(wrong);
      const tls = await detectCli(['--url', emu.url, '--username', emu.username], { BMC_PASSWORD: emu.password });
      expect(tls.code).toBe(3);
      expect(tls.stderr).toContain('tls:');
      expect(tls.stderr + tls.stdout).not.toContain(emu.password);
    } finally {
      await emu.close();
    }
  });
});

describe('bmc-console detect main() without a BMC (in process)', () => {
  async function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
    let stdout = '';
    let stderr = '';
    const code = await detectMain(argv, env, { out: (t) => (stdout += t), err: (t) => (stderr += t) });
    return { code, stdout, stderr };
  }

  it.skipIf(!haveFixtures)('--fixture DIR prints the discovery, exit 0', async () => {
    const r = await run(['--fixture', resolve(fixtures, 'lenovo-xcc-sr670v2-fw2.83')]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ vendor: 'lenovo', family: 'xcc', generation: '1', managerId: '1' });
  });

  it('usage errors exit 2 and name the flag', async () => {
    const cases: [string[], string][] = [
      [['--url', 'https://127.0.0.1:9', '--verify', 'x'], "'--verify'"],
      [['--url', 'https://127.0.0.1:9', '--fixture', '/tmp'], '--url and --fixture'],
      [['--url', 'https://127.0.0.1:9', '--verify-ca', '/nonexistent/ca.pem'], '--verify-ca'],
      [['--url', 'https://127.0.0.1:9', '--auth', 'kerberos'], '--auth'],
      [['--url', 'https://127.0.0.1:9', '--timeout', 'soon'], '--timeout'],
      [['--url', 'https://root:pw@127.0.0.1:9'], '--url'],
      [['--username', 'root'], '--url (or --fixture) is required'],
      [
        ['--url', 'https://127.0.0.1:9', '--password', 'a', '--password-file', '/etc/hostname'],
        '--password and --password-file',
      ],
      [['--fixture', '/nonexistent-capture'], '--fixture'],
    ];
    for (const [argv, flag] of cases) {
      const r = await run(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr, argv.join(' ')).toContain(flag);
    }
  });

  it('an unreachable BMC exits 3 and names the URL', async () => {
    const { refusedPort } = await import('./redfish-test-server.js');
    const port = await refusedPort();
    const r = await run(['--url', `https://127.0.0.1:${port}`, '--username', 'root'], { BMC_PASSWORD: 'pw-xyz-123' });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`https://127.0.0.1:${port}/redfish/v1/`);
    expect(r.stderr).toContain('connection refused');
  });
});
