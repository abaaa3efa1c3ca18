/**
 * The systemd (Quadlet) provider with a FAKE systemctl that records its calls (a real `systemd --user` needs
 * /run/systemd/system, which would make every other tool on this shared machine believe systemd is PID 1, so it is
 * not used here) and a fake `podman port`. The generated .container files are validated by the real Quadlet from
 * Debian trixie (`quadlet -dryrun`, fetched by setup-quadlet.sh), and the environment file is read by real podman.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsoleAgent } from '../src/console-agent.js';
import { escapeQuadletValue, renderQuadletUnit, splitExecStart } from '../src/quadlet-unit.js';
import { appInfo, makeAgent, tokenOf } from './support/agent-fixture.js';
import { consoleImage } from './support/console-image.js';

const setup = spawnSync('bash', [join(import.meta.dirname, 'setup-quadlet.sh')], { encoding: 'utf8' });
const quadlet = setup.status === 0 ? setup.stdout.trim() : undefined;
if (!quadlet) console.warn(`quadlet -dryrun checks skipped: ${setup.stderr.trim() || 'setup-quadlet.sh failed'}`);

function dryrun(unitDir: string): { code: number; out: string; err: string } {
  const r = spawnSync(quadlet!, ['-dryrun', '-user'], { encoding: 'utf8', env: { ...process.env, QUADLET_UNIT_DIRS: unitDir } });
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

  it.skipIf(!quadlet)('round-trips a tricky value through the real quadlet -dryrun', () => {
    const dir = mkdtempSync(join(tmpdir(), 'quadlet-rt-'));
    writeFileSync(join(dir, 'rt.container'), renderQuadletUnit('round trip', [['Container', [['Image', 'localhost/x:latest'], ['Environment', `X=${tricky}`], ['Label', `l=${tricky}`]]]]));
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

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agent-systemd-'));
    server = createServer((s) => s.end('RFB 003.008\n'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    writeFileSync(join(dir, 'fake-systemctl'), `#!/bin/bash\nprintf '%s\\n' "$*" >> ${dir}/systemctl.log\n[ "$2" = is-active ] && echo active\nexit 0\n`);
    writeFileSync(join(dir, 'fake-podman'), `#!/bin/bash\n[ "$1" = port ] && { echo "[::1]:${port}"; echo "127.0.0.1:${port}"; exit 0; }\nexit 1\n`);
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

  it('writes a valid .container without secrets, a 0600 env file, and starts the unit with systemctl --user', async () => {
    const node = '5b8e6d3c-aaaa-4bbb-8ccc-0123456789ab';
    const info = appInfo();
    const started = await agent.start({ node, appInfo: info });
    expect(started).toMatchObject({ host: '127.0.0.1', port: (server.address() as { port: number }).port });
    expect(log()).toBe(`--user daemon-reload\n--user start bmc-console-${node}.service\n`);

    const unitPath = join(dir, 'units', `bmc-console-${node}.container`);
    const envPath = join(agent.config.state_dir, 'env', `bmc-console-${node}.env`);
    const unit = readFileSync(unitPath, 'utf8');
    const v = await agent.verify(node, tokenOf(started.url));
    if (!v.ok) throw new Error(v.reason);
    for (const secret of ['Ä€🔑', v.target.vncPassword!, 'password']) expect(unit).not.toContain(secret);
    expect(unit).not.toContain('[Install]');
    expect(unit).toContain(`EnvironmentFile=${envPath}`);
    expect(statSync(envPath).mode & 0o777).toBe(0o600);
    const envLines = readFileSync(envPath, 'utf8').split('\n').filter(Boolean);
    expect(envLines.map((l) => l.slice(0, l.indexOf('=')))).toEqual(['APP_INFO', 'VNC_PASSWORD']);
    expect(JSON.parse(envLines[0]!.slice('APP_INFO='.length))).toEqual(info);

    if (quadlet) {
      const r = dryrun(join(dir, 'units'));
      expect(r.code, r.err).toBe(0);
      for (const secret of ['Ä€🔑', v.target.vncPassword!]) expect(r.out).not.toContain(secret);
      const argv = execStartOf(r.out);
      expect(argv.slice(0, 2)).toEqual(['/usr/bin/podman', 'run']);
      expect(argv).toEqual(expect.arrayContaining(['--env-file', envPath, '--init', '--publish', '127.0.0.1::5900', '--env', 'APP=redfish-graphical', '--label', `io.bmc-console.node=${node}`, '--network', 'slirp4netns:allow_host_loopback=true']));
      expect(argv.at(-1)).toBe('localhost/bmc-console:latest');
      expect(r.out).not.toMatch(/WantedBy/);
    }

    // podman reads the env file literally: the password arrives unchanged.
    const img = consoleImage();
    if ('image' in img) {
      const out = execFileSync('podman', ['run', '--rm', '--env-file', envPath, '--network', 'none', img.image, 'node', '-e', 'process.stdout.write(process.env.APP_INFO)'], { encoding: 'utf8' });
      expect(JSON.parse(out)).toEqual(info);
    }

    await agent.stop(node);
    expect(log().split('\n').slice(2, 4)).toEqual([`--user stop bmc-console-${node}.service`, '--user daemon-reload']);
    expect(existsSync(unitPath) || existsSync(envPath)).toBe(false);
  });

  it('mounts a verify_ca file read-only (Volume=) and points APP_INFO at it', async () => {
    const ca = join(dir, 'bmc ca%.pem');
    writeFileSync(ca, 'CA');
    await agent.start({ node: 'sd-ca', appInfo: appInfo({ verify_ca: ca }) });
    const unit = readFileSync(join(dir, 'units', 'bmc-console-sd-ca.container'), 'utf8');
    expect(unit).toContain(`Volume=${ca.replace('%', '%%')}:/run/bmc-console/ca/bmc-ca.pem:ro\n`);
    const env = readFileSync(join(agent.config.state_dir, 'env', 'bmc-console-sd-ca.env'), 'utf8');
    expect(JSON.parse(env.split('\n')[0]!.slice('APP_INFO='.length)).verify_ca).toBe('/run/bmc-console/ca/bmc-ca.pem');
    if (quadlet) {
      const r = dryrun(join(dir, 'units'));
      expect(r.code, r.err).toBe(0);
      const service = r.out.split(/^---/m).find((part) => part.startsWith('bmc-console-sd-ca.service')) ?? '';
      const argv = execStartOf(service);
      expect(argv[argv.indexOf('-v') + 1] ?? argv[argv.indexOf('--volume') + 1]).toBe(`${ca}:/run/bmc-console/ca/bmc-ca.pem:ro`);
    }
    await agent.stop('sd-ca');
  });

  it('stop-all touches only this agent\'s units, with one daemon-reload', async () => {
    await agent.start({ node: 'sd-1', app: 'fake', appInfo: {} });
    await agent.start({ node: 'sd-2', app: 'fake', appInfo: {} });
    writeFileSync(join(dir, 'units', 'bmc-console-other.container'), '# Generated by bmc-console-agent (other-host)\n# io.bmc-console.agent=other-host\n[Container]\nImage=x\n');
    writeFileSync(join(dir, 'systemctl.log'), '');
    expect((await agent.provider.list()).map((r) => r.node).sort()).toEqual(['sd-1', 'sd-2']);
    writeFileSync(join(dir, 'systemctl.log'), '');
    expect(await agent.stopAll()).toEqual({ stopped: ['sd-1', 'sd-2'] });
    const calls = log().split('\n').filter((l) => !l.includes('is-active'));
    expect(calls.filter((l) => l.includes('stop ')).sort()).toEqual(['--user stop bmc-console-sd-1.service', '--user stop bmc-console-sd-2.service']);
    expect(calls.filter((l) => l.includes('daemon-reload'))).toHaveLength(1);
    expect(existsSync(join(dir, 'units', 'bmc-console-other.container'))).toBe(true);
  });
});
