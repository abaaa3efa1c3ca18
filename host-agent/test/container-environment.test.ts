// The environment the podman and systemd providers hand a console container, from a start request and the config.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { containerEnvironment } from '../src/providers/container-environment.js';
import { DROPPED_CAPABILITIES, hardeningRunArgs } from '../src/providers/container-security.js';
import { createPodmanSecrets, secretMount } from '../src/providers/podman/secrets.js';

const req = {
  node: 'env-node',
  app: 'redfish-graphical' as const,
  appInfo: { address: 'https://10.0.0.5', username: 'root', password: 'pw' },
  readOnly: true,
};

describe('containerEnvironment', () => {
  it('passes the console contract, and KVM_RELEASE_AFTER and the display size only when configured', () => {
    const plain = containerEnvironment(req, loadConfig({ env: {} })).env;
    expect(plain).toMatchObject({ APP: 'redfish-graphical', READ_ONLY: 'True' });
    expect(JSON.parse(plain.APP_INFO!)).toMatchObject({ address: 'https://10.0.0.5' });
    expect(plain).not.toHaveProperty('KVM_RELEASE_AFTER');
    expect(plain).not.toHaveProperty('DISPLAY_WIDTH');

    const set = containerEnvironment(
      req,
      loadConfig({ env: {}, overrides: { kvm_release_after: 0, display_width: 1024, display_height: 768 } }),
    ).env;
    expect(set).toMatchObject({ KVM_RELEASE_AFTER: '0', DISPLAY_WIDTH: '1024', DISPLAY_HEIGHT: '768' });
    expect(
      containerEnvironment(req, loadConfig({ env: {}, overrides: { kvm_release_after: 'always' } })).env
        .KVM_RELEASE_AFTER,
    ).toBe('always');
  });
});

describe('podman secrets of a console', () => {
  it('mounts each as a file of the console user only, named by <NAME>_FILE', () => {
    expect(secretMount('n1', 'APP_INFO')).toEqual({
      variable: 'APP_INFO',
      secret: 'bmc-console-n1-app-info',
      option: 'bmc-console-n1-app-info,type=mount,target=app-info,uid=1000,gid=1000,mode=0400',
      fileVariable: 'APP_INFO_FILE',
      path: '/run/secrets/app-info',
    });
    expect(secretMount('n1', 'VNC_PASSWORD').path).toBe('/run/secrets/vnc-password');
  });

  it('hands podman the values in its environment only, and replaces one left by an earlier run', async () => {
    const calls: { args: string[]; env?: Record<string, string> }[] = [];
    let first = true;
    const cli = async (args: string[], env?: Record<string, string>) => {
      calls.push({ args, ...(env ? { env } : {}) });
      const inUse = args[1] === 'create' && args.includes('bmc-console-n2-app-info') && first;
      if (inUse) first = false;
      return {
        code: inUse ? 125 : 0,
        stdout: '',
        stderr: inUse ? 'Error: bmc-console-n2-app-info: secret name in use' : '',
      };
    };
    let replaced = 0;
    const mounts = await createPodmanSecrets(
      cli,
      'n2',
      { APP: 'fake', APP_INFO: '{"password":"pw"}', VNC_PASSWORD: 'v' },
      'h',
      async () => void replaced++,
    );
    expect(mounts.map((m) => m.variable)).toEqual(['APP_INFO', 'VNC_PASSWORD']);
    expect(replaced).toBe(1);
    expect(calls.map((c) => c.args.join(' ')).join('\n')).not.toMatch(/pw|\bv\b/);
    expect(
      calls
        .filter((c) => c.args[1] === 'create')
        .map((c) => c.env?.BMC_CONSOLE_SECRET_VALUE)
        .sort(),
    ).toEqual(['v', '{"password":"pw"}', '{"password":"pw"}']);
    expect(calls.some((c) => c.args.join(' ') === 'secret rm bmc-console-n2-app-info')).toBe(true);
  });
});

describe('console container hardening', () => {
  it("drops every default capability but SYS_CHROOT (Chromium's sandbox chroots) and sets no-new-privileges", () => {
    const args = hardeningRunArgs();
    expect(args.filter((_a, i) => args[i - 1] === '--cap-drop')).toEqual([...DROPPED_CAPABILITIES]);
    expect(DROPPED_CAPABILITIES).not.toContain('SYS_CHROOT');
    expect(DROPPED_CAPABILITIES).toEqual(
      expect.arrayContaining(['SETUID', 'SETGID', 'DAC_OVERRIDE', 'NET_RAW', 'KILL']),
    );
    expect(args.slice(-2)).toEqual(['--security-opt', 'no-new-privileges']);
  });
});
