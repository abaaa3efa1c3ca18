/**
 * The systemd (Quadlet) provider with a FAKE systemctl that records its calls (a real `systemd --user` needs
 * /run/systemd/system, which would make every other tool on this shared machine believe systemd is PID 1, so it is
 * not used here) and a fake podman (`port`, and `secret create`/`rm` keeping the values in files). The generated
 * .container files are validated by the real Quadlet from Debian trixie (`quadlet -dryrun`, fetched by
 * setup-quadlet.sh; each such test reports itself skipped, with the reason, when it cannot be had), and real podman
 * mounts the secrets with Quadlet's flags.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsoleAgent } from '../src/console-agent.js';
import { escapeQuadletValue, renderQuadletUnit, splitExecStart } from '../src/providers/systemd-quadlet.js';
import { appInfo, makeAgent, tokenOf } from './support/agent-fixture.js';
import { consoleImage } from './support/console-image.js';
import { tempDir } from '@bmc-console/common/testing/temp-dir';

const setup = spawnSync('bash', [join(import.meta.dirname, 'setup-quadlet.sh')], { encoding: 'utf8' });
const quadlet = setup.status === 0 ? setup.stdout.trim() : undefined;
/** Why the quadlet checks are skipped (each says so in the report, none passes without the binary). */
const quadletMissing =
  setup.stderr
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('setup-quadlet:'))
    .join('; ') ||
  setup.stderr.trim().split('\n').at(-1) ||
  'setup-quadlet.sh failed';
if (!quadlet) console.warn(`quadlet -dryrun checks skipped: ${quadletMissing}`);

function dryrun(unitDir: string): { code: number; out: string; err: string } {
  const r = spawnSync(quadlet!, ['-dryrun', '-user'], {
    encoding: 'utf8',
    env: { ...process.env, QUADLET_UNIT_DIRS: unitDir },
  });
  return { code: r.status ?? 1, out: r.stdout, err: r.stderr };
}

const execStartOf = (service: string) => splitExecStart(/^ExecStart=(.*)$/m.exec(service)?.[1] ?? '');

describe('quadlet unit writer', () => {
  const tricky = `a b "q" 's' \\ %h %% $HOME $$ ; ü€`;

  it('escapes specifiers, variables and quotes; refuses control characters', () => {
    expect(escapeQuadletValue('Image', 'localhost/x:1')).toBe('localhost/x:1');
    expect(escapeQuadletValue('Environment', 'A=50%')).toBe('A=50%%');
    expect(escapeQuadletValue('Label', 'k=$x')).toBe('k=$$x');
    expect(escapeQuadletValue('Environment', 'A=a "b"')).toBe('"A=a \\"b\\""');
    expect(() => escapeQuadletValue('Environment', 'A=1\n[Service]')).toThrow(/control characters/);
    expect(() => escapeQuadletValue('Image', 'a b')).toThrow(/without spaces/);
  });

  it('round-trips a tricky value through the real quadlet -dryrun', (ctx) => {
    if (!quadlet) ctx.skip(`quadlet is not available: ${quadletMissing}`);
    const dir = tempDir('quadlet-rt-');
    writeFileSync(
      join(dir, 'rt.container'),
      renderQuadletUnit('round trip', [
        [
          'Container',
          [
            ['Image', 'localhost/x:latest'],
            ['Environment', `X=${tricky}`],
            ['Label', `l=${tricky}`],
          ],
        ],
      ]),
    );
    const r = dryrun(dir);
    expect(r.code, r.err).toBe(0);
    const argv = execStartOf(r.out);
    expect(argv).toContain(`X=${tricky}`);
    expect(argv).toContain(`l=${tricky}`);
  });
});

describe('systemd provider (fake systemctl, real quadlet -dryrun)', () => {
  let dir: string;
  let server: Server;
  let agent: ConsoleAgent;
  const log = () => readFileSync(join(dir, 'systemctl.log'), 'utf8');
  const podmanLog = () => readFileSync(join(dir, 'podman.log'), 'utf8');
  /** What the fake podman stored for a secret: the value it read from its environment. */
  const secretValue = (name: string) => readFileSync(join(dir, 'secrets', name), 'utf8');
  const secretsLeft = () => (existsSync(join(dir, 'secrets')) ? readdirSync(join(dir, 'secrets')) : []);

  beforeAll(async () => {
    dir = tempDir('agent-systemd-');
    server = createServer((s) => s.end('RFB 003.008\n'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    writeFileSync(
      join(dir, 'fake-systemctl'),
      `#!/bin/bash\nprintf '%s\\n' "$*" >> ${dir}/systemctl.log\n[ "$2" = is-active ] && echo active\nexit 0\n`,
    );
    // podman secret create --env ... NAME VAR: stores $VAR's value under NAME ("in use" when it exists); rm removes it.
    writeFileSync(
      join(dir, 'fake-podman'),
      `#!/bin/bash
printf '%s\\n' "$*" >> ${dir}/podman.log
mkdir -p ${dir}/secrets
if [ "$1 $2" = "secret create" ]; then
  name="\${@: -2:1}"; var="\${@: -1}"
  [ -e "${dir}/secrets/$name" ] && { echo "Error: $name: secret name in use" >&2; exit 125; }
  printf '%s' "\${!var}" > "${dir}/secrets/$name"; exit 0
fi
if [ "$1 $2" = "secret rm" ]; then
  [ -e "${dir}/secrets/$3" ] || { echo "Error: no secret with name or id \\"$3\\": no such secret" >&2; exit 1; }
  rm -f "${dir}/secrets/$3"; exit 0
fi
[ "$1" = port ] && { echo "[::1]:${port}"; echo "127.0.0.1:${port}"; exit 0; }
exit 1
`,
    );
    chmodSync(join(dir, 'fake-systemctl'), 0o755);
    chmodSync(join(dir, 'fake-podman'), 0o755);
    ({ agent } = await makeAgent({
      container_provider: 'systemd',
      systemctl_executable: join(dir, 'fake-systemctl'),
      container_executable: join(dir, 'fake-podman'),
      systemd_container_dir: join(dir, 'units'),
    }));
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('creates the podman secrets first, writes a valid .container that only names them, starts the unit; stop removes both', async () => {
    const node = '5b8e6d3c-aaaa-4bbb-8ccc-0123456789ab';
    const name = `bmc-console-${node}`;
    const info = appInfo();
    const started = await agent.start({ node, appInfo: info });
    expect(started).toMatchObject({ host: '127.0.0.1', port: (server.address() as { port: number }).port });
    expect(log()).toBe(`--user daemon-reload\n--user start bmc-console-${node}.service\n`);
    const v = await agent.verify(node, tokenOf(started.url));
    if (!v.ok) throw new Error(v.reason);

    // The secrets went in through podman's environment, never its argv, before the unit started.
    expect(JSON.parse(secretValue(`${name}-app-info`))).toEqual(info);
    expect(secretValue(`${name}-vnc-password`)).toBe(v.target.vncPassword);
    const calls = podmanLog().split('\n').filter(Boolean);
    expect(calls.filter((c) => c.startsWith('secret create')).sort()).toEqual([
      `secret create --env --label io.bmc-console.agent=${agent.config.agent_host} ${name}-app-info BMC_CONSOLE_SECRET_VALUE`,
      `secret create --env --label io.bmc-console.agent=${agent.config.agent_host} ${name}-vnc-password BMC_CONSOLE_SECRET_VALUE`,
    ]);
    for (const secret of ['Ä€🔑', v.target.vncPassword!]) expect(podmanLog()).not.toContain(secret);

    const unitPath = join(dir, 'units', `${name}.container`);
    const unit = readFileSync(unitPath, 'utf8');
    for (const secret of ['Ä€🔑', v.target.vncPassword!, '"password"', 'APP_INFO=']) expect(unit).not.toContain(secret);
    expect(unit).not.toContain('[Install]');
    expect(unit).not.toContain('EnvironmentFile');
    expect(unit).toContain(`\nSecret=${name}-app-info,type=mount,target=app-info,uid=1000,gid=1000,mode=0400\n`);
    expect(unit).toContain(
      `\nSecret=${name}-vnc-password,type=mount,target=vnc-password,uid=1000,gid=1000,mode=0400\n`,
    );
    expect(unit).toContain('\nEnvironment=APP_INFO_FILE=/run/secrets/app-info\n');
    expect(unit).toContain('\nEnvironment=VNC_PASSWORD_FILE=/run/secrets/vnc-password\n');
    expect(unit).toContain('\nNoNewPrivileges=true\n');
    expect(unit).toContain('\nDropCapability=SETUID\n');
    expect(unit).not.toMatch(/DropCapability=SYS_CHROOT/);
    expect(existsSync(join(agent.config.state_dir, 'env'))).toBe(false);

    await agent.stop(node);
    expect(log().split('\n').slice(2, 4)).toEqual([`--user stop bmc-console-${node}.service`, '--user daemon-reload']);
    expect(existsSync(unitPath)).toBe(false);
    expect(secretsLeft()).toEqual([]);
  });

  it("replaces secrets left by an earlier run, stopping that run's unit first", async () => {
    const node = 'sd-stale';
    const name = `bmc-console-${node}`;
    mkdirSync(join(dir, 'secrets'), { recursive: true });
    writeFileSync(join(dir, 'secrets', `${name}-app-info`), '{"stale":true}');
    writeFileSync(join(dir, 'systemctl.log'), '');
    await agent.start({ node, appInfo: appInfo() });
    expect(JSON.parse(secretValue(`${name}-app-info`))).toEqual(appInfo());
    expect(log().split('\n')[0]).toBe(`--user stop ${name}.service`);
    await agent.stop(node);
    expect(secretsLeft()).toEqual([]);
  });

  it('quadlet -dryrun turns the unit into podman run with the secrets mounted, no capability but SYS_CHROOT and no new privileges; real podman reads the files', async (ctx) => {
    if (!quadlet) ctx.skip(`quadlet is not available: ${quadletMissing}`);
    const node = 'sd-dry';
    const info = appInfo();
    const started = await agent.start({ node, appInfo: info });
    try {
      await dryrunChecks(node, info, await agent.verify(node, tokenOf(started.url)));
    } finally {
      await agent.stop(node);
    }
  });

  async function dryrunChecks(
    node: string,
    info: ReturnType<typeof appInfo>,
    v: Awaited<ReturnType<ConsoleAgent['verify']>>,
  ): Promise<void> {
    const name = `bmc-console-${node}`;
    if (!v.ok) throw new Error(v.reason);
    const r = dryrun(join(dir, 'units'));
    expect(r.code, r.err).toBe(0);
    for (const secret of ['Ä€🔑', v.target.vncPassword!]) expect(r.out).not.toContain(secret);
    const service = r.out.split(/^---/m).find((part) => part.startsWith(`${name}.service`)) ?? '';
    const argv = execStartOf(service);
    expect(argv.slice(0, 2)).toEqual(['/usr/bin/podman', 'run']);
    expect(argv).toEqual(
      expect.arrayContaining([
        '--init',
        '--publish',
        '127.0.0.1::5900',
        '--env',
        'APP=redfish-graphical',
        '--label',
        `io.bmc-console.node=${node}`,
        '--network',
        agent.config.container_network,
      ]),
    );
    expect(argv).toEqual(
      expect.arrayContaining([
        '--secret',
        `${name}-app-info,type=mount,target=app-info,uid=1000,gid=1000,mode=0400`,
        '--env',
        'APP_INFO_FILE=/run/secrets/app-info',
      ]),
    );
    expect(argv).toEqual(
      expect.arrayContaining([
        '--secret',
        `${name}-vnc-password,type=mount,target=vnc-password,uid=1000,gid=1000,mode=0400`,
        '--env',
        'VNC_PASSWORD_FILE=/run/secrets/vnc-password',
      ]),
    );
    expect(argv).toEqual(
      expect.arrayContaining([
        '--security-opt=no-new-privileges',
        '--cap-drop',
        'setuid',
        '--cap-drop',
        'dac_override',
      ]),
    );
    expect(argv.join(' ')).not.toMatch(/env-file|cap-drop sys_chroot/i);
    expect(argv.at(-1)).toBe('localhost/bmc-console:latest');
    expect(r.out).not.toMatch(/WantedBy/);

    // Real podman with Quadlet's secret and hardening flags: the console's user reads the values unchanged.
    const img = consoleImage();
    if ('image' in img) {
      const flags = argv.flatMap((a, i) =>
        ['--secret', '--cap-drop'].includes(a) ? [a, argv[i + 1]!] : a.startsWith('--security-opt=') ? [a] : [],
      );
      const created: string[] = [];
      try {
        for (const secret of secretsLeft().filter((s) => s.startsWith(name))) {
          execFileSync('podman', ['secret', 'create', '--env', secret, 'SECRET_VALUE'], {
            env: { ...process.env, SECRET_VALUE: secretValue(secret) },
          });
          created.push(secret);
        }
        const out = execFileSync(
          'podman',
          [
            'run',
            '--rm',
            ...flags,
            '--user',
            '1000',
            '--network',
            'none',
            '--entrypoint',
            'cat',
            img.image,
            '/run/secrets/app-info',
            '/run/secrets/vnc-password',
          ],
          { encoding: 'utf8' },
        );
        expect(out).toBe(`${JSON.stringify(info)}${v.target.vncPassword}`);
      } finally {
        for (const secret of created) spawnSync('podman', ['secret', 'rm', secret]);
      }
    }
  }

  it('mounts a verify_ca file read-only (Volume=) and points APP_INFO at it', async (ctx) => {
    const ca = join(dir, 'bmc ca%.pem');
    writeFileSync(ca, 'CA');
    await agent.start({ node: 'sd-ca', appInfo: appInfo({ verify_ca: ca }) });
    const unit = readFileSync(join(dir, 'units', 'bmc-console-sd-ca.container'), 'utf8');
    expect(unit).toContain(`Volume=${ca.replace('%', '%%')}:/run/bmc-console/ca/bmc-ca.pem:ro\n`);
    expect(JSON.parse(secretValue('bmc-console-sd-ca-app-info')).verify_ca).toBe('/run/bmc-console/ca/bmc-ca.pem');
    try {
      if (!quadlet) ctx.skip(`quadlet is not available: ${quadletMissing}`);
      const r = dryrun(join(dir, 'units'));
      expect(r.code, r.err).toBe(0);
      const service = r.out.split(/^---/m).find((part) => part.startsWith('bmc-console-sd-ca.service')) ?? '';
      const argv = execStartOf(service);
      expect(argv[argv.indexOf('-v') + 1] ?? argv[argv.indexOf('--volume') + 1]).toBe(
        `${ca}:/run/bmc-console/ca/bmc-ca.pem:ro`,
      );
    } finally {
      await agent.stop('sd-ca');
    }
  });

  it("stop-all touches only this agent's units, with one daemon-reload", async () => {
    await agent.start({ node: 'sd-1', app: 'fake', appInfo: {} });
    await agent.start({ node: 'sd-2', app: 'fake', appInfo: {} });
    writeFileSync(
      join(dir, 'units', 'bmc-console-other.container'),
      '# Generated by bmc-console-agent (other-host)\n# io.bmc-console.agent=other-host\n[Container]\nImage=x\n',
    );
    writeFileSync(join(dir, 'systemctl.log'), '');
    expect((await agent.provider.list()).map((r) => r.node).sort()).toEqual(['sd-1', 'sd-2']);
    writeFileSync(join(dir, 'systemctl.log'), '');
    expect(await agent.stopAll()).toEqual({ stopped: ['sd-1', 'sd-2'] });
    const calls = log()
      .split('\n')
      .filter((l) => !l.includes('is-active'));
    expect(calls.filter((l) => l.includes('stop ')).sort()).toEqual([
      '--user stop bmc-console-sd-1.service',
      '--user stop bmc-console-sd-2.service',
    ]);
    expect(calls.filter((l) => l.includes('daemon-reload'))).toHaveLength(1);
    expect(existsSync(join(dir, 'units', 'bmc-console-other.container'))).toBe(true);
  });
});
