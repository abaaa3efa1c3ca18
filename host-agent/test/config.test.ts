import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultAgentSocket } from '@bmc-console/common/agent-paths';
import { ConfigError, loadConfig, parseApiListen } from '../src/config.js';
import { tempDir } from '@bmc-console/common/testing/temp-dir';

describe('agent config', () => {
  it('has Ironic-like defaults in one place', () => {
    const c = loadConfig({ env: {} });
    expect(c).toMatchObject({
      container_provider: 'podman',
      console_image: 'localhost/bmc-console:latest',
      token_timeout: 600,
      read_only: false,
      vnc_password: true,
      record_sessions: false,
      container_publish_address: '127.0.0.1',
      container_network: 'slirp4netns',
      kubernetes_pod_timeout: 120,
    });
  });

  it('reads YAML (also under a vnc: key), then env, then overrides', () => {
    const dir = tempDir('agent-config-');
    const file = join(dir, 'agent.yaml');
    writeFileSync(
      file,
      'vnc:\n  container_provider: systemd\n  token_timeout: 120\n  public_url: https://console.example.com/view\n',
    );
    const c = loadConfig({
      file,
      env: { BMC_CONSOLE_AGENT_TOKEN_TIMEOUT: '60', BMC_CONSOLE_AGENT_READ_ONLY: 'true' },
      overrides: { state_dir: dir },
    });
    expect(c).toMatchObject({
      container_provider: 'systemd',
      token_timeout: 60,
      read_only: true,
      public_url: 'https://console.example.com/view',
      state_dir: dir,
    });
    writeFileSync(join(dir, 'agent.json'), JSON.stringify({ container_provider: 'fake' }));
    expect(loadConfig({ file: join(dir, 'agent.json'), env: {} }).container_provider).toBe('fake');
  });

  it('names each bad option and what was expected', () => {
    const dir = tempDir('agent-config-');
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'token_timeout: 5\npublic_url: not a url\ncontainer_provder: podman\n');
    let err: unknown;
    try {
      loadConfig({ file, env: {} });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg).toContain('token_timeout: expected a whole number of seconds >= 10');
    expect(msg).toContain('public_url: expected the proxy viewer URL');
    expect(msg).toContain('unknown option(s) container_provder');
    expect(() => loadConfig({ file: join(dir, 'missing.yaml'), env: {} })).toThrow(
      /cannot read config file .*missing.yaml: ENOENT/,
    );
  });

  it('takes kvm_release_after as seconds or "always", from a file or env, and names it when wrong', () => {
    expect(loadConfig({ env: {} }).kvm_release_after).toBeUndefined();
    expect(loadConfig({ env: { BMC_CONSOLE_AGENT_KVM_RELEASE_AFTER: '0' } }).kvm_release_after).toBe(0);
    expect(loadConfig({ env: { BMC_CONSOLE_AGENT_KVM_RELEASE_AFTER: 'always' } }).kvm_release_after).toBe('always');
    expect(loadConfig({ env: {}, overrides: { kvm_release_after: 300 } }).kvm_release_after).toBe(300);
    for (const bad of ['soon', '-5', '1.5']) {
      expect(() => loadConfig({ env: { BMC_CONSOLE_AGENT_KVM_RELEASE_AFTER: bad } })).toThrow(
        /kvm_release_after: expected a whole number of seconds from 0 to 86400, or "always"/,
      );
    }
  });

  it('takes container_pool_size (default 0: no pool) and names it when wrong', () => {
    expect(loadConfig({ env: {} }).container_pool_size).toBe(0);
    expect(loadConfig({ env: { BMC_CONSOLE_AGENT_CONTAINER_POOL_SIZE: '2' } }).container_pool_size).toBe(2);
    expect(() => loadConfig({ env: { BMC_CONSOLE_AGENT_CONTAINER_POOL_SIZE: '-1' } })).toThrow(
      /container_pool_size: expected a whole number >= 0/,
    );
    expect(() => loadConfig({ env: {}, overrides: { container_pool_size: 500 } })).toThrow(
      /container_pool_size: expected at most 100/,
    );
  });

  it('takes record_sessions (default false: no recording) from a file or env, and names it when wrong', () => {
    expect(loadConfig({ env: {} }).record_sessions).toBe(false);
    expect(loadConfig({ env: { BMC_CONSOLE_AGENT_RECORD_SESSIONS: 'true' } }).record_sessions).toBe(true);
    const dir = tempDir('agent-config-');
    writeFileSync(join(dir, 'a.yaml'), 'record_sessions: true\n');
    expect(loadConfig({ file: join(dir, 'a.yaml'), env: {} }).record_sessions).toBe(true);
    writeFileSync(join(dir, 'b.yaml'), 'record_sessions: "sometimes"\n');
    expect(() => loadConfig({ file: join(dir, 'b.yaml'), env: {} })).toThrow(/record_sessions: expected true or false/);
  });

  it('takes console_mode, direct_timeout and direct_relay_address (defaults: container, 15, loopback)', () => {
    const d = loadConfig({ env: {} });
    expect([d.console_mode, d.direct_timeout, d.direct_relay_address]).toEqual(['container', 15, '127.0.0.1']);
    const e = loadConfig({
      env: {
        BMC_CONSOLE_AGENT_CONSOLE_MODE: 'auto',
        BMC_CONSOLE_AGENT_DIRECT_TIMEOUT: '5',
        BMC_CONSOLE_AGENT_DIRECT_RELAY_ADDRESS: '',
      },
    });
    expect([e.console_mode, e.direct_timeout, e.direct_relay_address]).toEqual(['auto', 5, '']);
    expect(() => loadConfig({ env: { BMC_CONSOLE_AGENT_CONSOLE_MODE: 'browserless' } })).toThrow(
      /console_mode: expected one of auto, container, direct/,
    );
    expect(() => loadConfig({ env: { BMC_CONSOLE_AGENT_DIRECT_TIMEOUT: '0' } })).toThrow(
      /direct_timeout: expected a whole number of seconds >= 1/,
    );
  });

  it('takes container_pool_refill_delay in seconds (default 5) and names it when wrong', () => {
    expect(loadConfig({ env: {} }).container_pool_refill_delay).toBe(5);
    expect(
      loadConfig({ env: { BMC_CONSOLE_AGENT_CONTAINER_POOL_REFILL_DELAY: '12' } }).container_pool_refill_delay,
    ).toBe(12);
    expect(() => loadConfig({ env: { BMC_CONSOLE_AGENT_CONTAINER_POOL_REFILL_DELAY: '0' } })).toThrow(
      /container_pool_refill_delay: expected a whole number of seconds >= 1/,
    );
    expect(() => loadConfig({ env: {}, overrides: { container_pool_refill_delay: 7200 } })).toThrow(
      /container_pool_refill_delay: expected at most 3600 seconds/,
    );
  });

  it('listens on a unix socket by default; TCP, TLS and allowed hosts only when set, with errors naming the field', () => {
    const c = loadConfig({ env: {}, overrides: { state_dir: '/srv/agent' } });
    expect(c.api_listen).toBe(`unix:${defaultAgentSocket('/srv/agent')}`);
    expect(c).toMatchObject({
      api_key_file: '/srv/agent/api.key',
      api_allowed_hosts: [],
      ca_bundle_dir: '/etc/bmc-console/ca',
    });
    expect(parseApiListen('tcp://127.0.0.1:6091')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 6091 });
    expect(parseApiListen('tcp://[::1]:0')).toEqual({ kind: 'tcp', host: '::1', port: 0 });
    expect(parseApiListen('unix:/run/x.sock')).toEqual({ kind: 'unix', path: '/run/x.sock' });
    for (const bad of [
      '127.0.0.1:6091',
      'tcp://127.0.0.1',
      'http://127.0.0.1:6091',
      'unix:relative.sock',
      `unix:/${'x'.repeat(120)}`,
      'tcp://h:70000',
    ]) {
      expect(() => loadConfig({ env: {}, overrides: { api_listen: bad } })).toThrow(
        /api_listen: expected "unix:\/absolute\/path.sock"/,
      );
    }
    expect(
      loadConfig({
        env: {
          BMC_CONSOLE_AGENT_API_LISTEN: 'tcp://0.0.0.0:6091',
          BMC_CONSOLE_AGENT_API_ALLOWED_HOSTS: 'agent.example, 10.0.0.5',
        },
      }),
    ).toMatchObject({
      api_listen: 'tcp://0.0.0.0:6091',
      api_allowed_hosts: ['agent.example', '10.0.0.5'],
    });
    expect(() =>
      loadConfig({ env: {}, overrides: { api_tls_cert_file: '/c.pem', api_tls_key_file: '/k.pem' } }),
    ).toThrow(/api_tls_cert_file: TLS applies only to a "tcp:\/\/host:port" api_listen/);
    expect(() =>
      loadConfig({ env: {}, overrides: { api_listen: 'tcp://127.0.0.1:1', api_tls_cert_file: '/c.pem' } }),
    ).toThrow(/api_tls_key_file: set both/);
    expect(() => loadConfig({ env: {}, overrides: { api_key_file: 'relative.key' } })).toThrow(
      /api_key_file: expected an absolute file path/,
    );
    const dir = tempDir('agent-config-');
    writeFileSync(join(dir, 'old.yaml'), 'api_port: 6091\napi_socket: /run/a.sock\n');
    expect(() => loadConfig({ file: join(dir, 'old.yaml'), env: {} })).toThrow(
      /unknown option\(s\) api_port, api_socket \(the API listener is now api_listen/,
    );
  });
});
