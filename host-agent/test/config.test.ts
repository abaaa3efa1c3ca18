import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('agent config', () => {
  it('has Ironic-like defaults in one place', () => {
    const c = loadConfig({ env: {} });
    expect(c).toMatchObject({ container_provider: 'podman', console_image: 'localhost/bmc-console:latest', token_timeout: 600, read_only: false, vnc_password: true, container_publish_address: '127.0.0.1', container_network: 'slirp4netns:allow_host_loopback=true', kubernetes_pod_timeout: 120 });
  });

  it('reads YAML (also under a vnc: key), then env, then overrides', () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-config-'));
    const file = join(dir, 'agent.yaml');
    writeFileSync(file, 'vnc:\n  container_provider: systemd\n  token_timeout: 120\n  public_url: https://console.example.com/view\n');
    const c = loadConfig({ file, env: { BMC_CONSOLE_AGENT_TOKEN_TIMEOUT: '60', BMC_CONSOLE_AGENT_READ_ONLY: 'true' }, overrides: { state_dir: dir } });
    expect(c).toMatchObject({ container_provider: 'systemd', token_timeout: 60, read_only: true, public_url: 'https://console.example.com/view', state_dir: dir });
    writeFileSync(join(dir, 'agent.json'), JSON.stringify({ container_provider: 'fake' }));
    expect(loadConfig({ file: join(dir, 'agent.json'), env: {} }).container_provider).toBe('fake');
  });

  it('names each bad option and what was expected', () => {
    const dir = mkdtempSync(join(tmpdir(), 'agent-config-'));
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
    expect(() => loadConfig({ file: join(dir, 'missing.yaml'), env: {} })).toThrow(/cannot read config file .*missing.yaml: ENOENT/);
  });

  it('takes kvm_release_after as seconds or "always", from a file or env, and names it when wrong', () => {
    expect(loadConfig({ env: {} }).kvm_release_after).toBeUndefined();
    expect(loadConfig({ env: { BMC_CONSOLE_AGENT_KVM_RELEASE_AFTER: '0' } }).kvm_release_after).toBe(0);
    expect(loadConfig({ env: { BMC_CONSOLE_AGENT_KVM_RELEASE_AFTER: 'always' } }).kvm_release_after).toBe('always');
    expect(loadConfig({ env: {}, overrides: { kvm_release_after: 300 } }).kvm_release_after).toBe(300);
    for (const bad of ['soon', '-5', '1.5']) {
      expect(() => loadConfig({ env: { BMC_CONSOLE_AGENT_KVM_RELEASE_AFTER: bad } })).toThrow(/kvm_release_after: expected a whole number of seconds from 0 to 86400, or "always"/);
    }
  });

  it('takes container_pool_size (default 0: no pool) and names it when wrong', () => {
    expect(loadConfig({ env: {} }).container_pool_size).toBe(0);
    expect(loadConfig({ env: { BMC_CONSOLE_AGENT_CONTAINER_POOL_SIZE: '2' } }).container_pool_size).toBe(2);
    expect(() => loadConfig({ env: { BMC_CONSOLE_AGENT_CONTAINER_POOL_SIZE: '-1' } })).toThrow(/container_pool_size: expected a whole number >= 0/);
    expect(() => loadConfig({ env: {}, overrides: { container_pool_size: 500 } })).toThrow(/container_pool_size: expected at most 100/);
  });
});
