import { describe, expect, it } from 'vitest';
import {
  AUTH_TYPES,
  ConsoleEnvError,
  describeAppInfo,
  parseConsoleEnv,
  unknownAppInfoKeys,
} from '@bmc-console/common/console-env';
import { tempDir } from '@bmc-console/common/testing/temp-dir';

describe('parseConsoleEnv', () => {
  it('gives Ironic defaults for an empty environment', () => {
    expect(parseConsoleEnv({})).toMatchObject({
      app: 'fake',
      appInfo: {},
      readOnly: false,
      displayWidth: 1280,
      displayHeight: 960,
    });
  });
  it('accepts Ironic booleans and ours', () => {
    for (const [v, want] of [
      ['True', true],
      ['False', false],
      ['true', true],
      ['0', false],
      ['1', true],
    ] as const)
      expect(parseConsoleEnv({ READ_ONLY: v }).readOnly).toBe(want);
  });
  it('names each bad variable and never shows the password', () => {
    const env = {
      APP: 'redfish',
      READ_ONLY: 'maybe',
      DISPLAY_WIDTH: 'wide',
      APP_INFO: '{"address":"https://b","password":"s3cr3t-pw',
    };
    try {
      parseConsoleEnv(env);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConsoleEnvError);
      const msg = (e as Error).message;
      for (const v of ['APP:', 'READ_ONLY:', 'DISPLAY_WIDTH:', 'APP_INFO:']) expect(msg).toContain(v);
      expect(msg).not.toContain('s3cr3t');
    }
  });
  it('refuses a VNC_PASSWORD that x11vnc would not read, without showing it', () => {
    for (const pw of ['#abc', 'ab\ncd']) {
      expect(() => parseConsoleEnv({ VNC_PASSWORD: pw }), JSON.stringify(pw)).toThrow(
        /VNC_PASSWORD: must not start with "#" or hold a line break/,
      );
      try {
        parseConsoleEnv({ VNC_PASSWORD: pw });
      } catch (e) {
        expect((e as Error).message).not.toContain(pw);
      }
    }
    expect(parseConsoleEnv({ VNC_PASSWORD: 'a#b' }).vncPassword).toBe('a#b');
  });

  it('requires address, username and password for redfish-graphical', () => {
    expect(() => parseConsoleEnv({ APP: 'redfish-graphical', APP_INFO: '{"address":"https://b"}' })).toThrow(
      /APP_INFO\.username/,
    );
  });
  it('AWAIT_APP_INFO: a redfish-graphical console may start without its node; ASSIGN_SOCKET must be absolute', () => {
    const e = parseConsoleEnv({ APP: 'redfish-graphical', AWAIT_APP_INFO: 'True' });
    expect(e).toMatchObject({
      app: 'redfish-graphical',
      awaitAppInfo: true,
      appInfo: {},
      assignSocket: '/tmp/bmc-console-assign.sock',
    });
    expect(parseConsoleEnv({}).awaitAppInfo).toBe(false);
    expect(() => parseConsoleEnv({ AWAIT_APP_INFO: 'later' })).toThrow(/AWAIT_APP_INFO must be True or False/);
    expect(() => parseConsoleEnv({ ASSIGN_SOCKET: 'rel.sock' })).toThrow(/ASSIGN_SOCKET: must be an absolute path/);
  });
  it('keeps unknown APP_INFO fields and reads verify_ca as bool or path', () => {
    const e = parseConsoleEnv({
      APP: 'redfish-graphical',
      APP_INFO: JSON.stringify({
        address: 'https://b',
        username: 'u',
        password: 'p',
        verify_ca: '/etc/ca.pem',
        system_id: '/redfish/v1/Systems/1',
      }),
    });
    expect(e.appInfo.verify_ca).toBe('/etc/ca.pem');
    expect(e.appInfo.system_id).toBe('/redfish/v1/Systems/1');
  });
});

describe('secret files', () => {
  it('reads APP_INFO_FILE and VNC_PASSWORD_FILE over the image defaults, and names an unreadable file', async () => {
    const { writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const dir = tempDir('console-env-');
    writeFileSync(join(dir, 'app-info'), JSON.stringify({ address: 'https://b', username: 'u', password: 'p w"\n' }));
    writeFileSync(join(dir, 'vnc-password'), 'abcd1234\n');
    const e = parseConsoleEnv({
      APP: 'redfish-graphical',
      APP_INFO: '{}',
      APP_INFO_FILE: join(dir, 'app-info'),
      VNC_PASSWORD_FILE: join(dir, 'vnc-password'),
    });
    expect(e.appInfo.password).toBe('p w"\n');
    expect(e.vncPassword).toBe('abcd1234');
    expect(() => parseConsoleEnv({ APP_INFO_FILE: join(dir, 'missing') })).toThrow(/APP_INFO_FILE: cannot read/);
  });
});

describe('APP_INFO.address', () => {
  it('accepts what Ironic sends and names the field for anything else', () => {
    const env = (address: string) => ({
      APP: 'redfish-graphical',
      APP_INFO: JSON.stringify({ address, username: 'u', password: 'p' }),
    });
    for (const ok of [
      'https://10.0.0.5',
      'https://bmc.example.com:8443',
      'http://10.0.2.2:4443/',
      '10.0.0.5',
      '[fd00::5]',
    ])
      expect(parseConsoleEnv(env(ok)).appInfo.address).toBe(ok);
    for (const bad of ['not a url', 'ftp://10.0.0.5', 'https://', 'https://bmc/redfish/v1?x=1', 'https://user@bmc'])
      expect(() => parseConsoleEnv(env(bad)), bad).toThrow(/APP_INFO\.address: expected the BMC address/);
  });
});

describe('APP_INFO as Ironic sends it (redfish_utils.parse_driver_info)', () => {
  const ironic = {
    address: 'https://10.0.0.5',
    system_id: '/redfish/v1/Systems/System.Embedded.1',
    username: 'root',
    password: 'calvin-s3cret',
    verify_ca: false,
    auth_type: 'auto',
    node_uuid: '1be26c0b-03f2-4d2e-ae87-c02d7f33c123',
    root_prefix: '/redfish/v1',
    tls_min_version: 'TLSv1.2',
    tls_ciphers: 'ECDHE+AESGCM',
    firmware_update_unresponsive_bmc_wait: 300,
  };

  it('accepts every key parse_driver_info produces, with verify_ca a bool or a CA path', () => {
    for (const verify_ca of [false, true, '/etc/ironic/bmc-ca.pem']) {
      const e = parseConsoleEnv({ APP: 'redfish-graphical', APP_INFO: JSON.stringify({ ...ironic, verify_ca }) });
      expect(e.appInfo).toEqual({ ...ironic, verify_ca });
      expect(unknownAppInfoKeys(e.appInfo)).toEqual([]);
    }
    for (const auth_type of AUTH_TYPES)
      expect(
        parseConsoleEnv({ APP: 'redfish-graphical', APP_INFO: JSON.stringify({ ...ironic, auth_type }) }).appInfo
          .auth_type,
      ).toBe(auth_type);
  });

  it('ignores unknown keys and logs them by name only, never their values', () => {
    const e = parseConsoleEnv({
      APP: 'redfish-graphical',
      APP_INFO: JSON.stringify({ ...ironic, timeout: 60, vendor_token: 'tok-s3cret' }),
    });
    expect(unknownAppInfoKeys(e.appInfo)).toEqual(['timeout', 'vendor_token']);
    const logged = JSON.stringify(describeAppInfo(e.appInfo));
    expect(describeAppInfo(e.appInfo)).toMatchObject({
      ignoredKeys: ['timeout', 'vendor_token'],
      password: '[redacted]',
      system_id: ironic.system_id,
      auth_type: 'auto',
    });
    expect(logged).not.toContain('tok-s3cret');
    expect(logged).not.toContain('calvin-s3cret');
  });

  it('names a bad auth_type or system_id without showing the password', () => {
    try {
      parseConsoleEnv({
        APP: 'redfish-graphical',
        APP_INFO: JSON.stringify({ ...ironic, auth_type: 'kerberos', system_id: '' }),
      });
      expect.unreachable();
    } catch (e) {
      const msg = (e as Error).message;
      expect(msg).toContain('APP_INFO.auth_type: expected one of auto, basic, session');
      expect(msg).toContain('APP_INFO.system_id');
      expect(msg).not.toContain('calvin-s3cret');
    }
  });
});
