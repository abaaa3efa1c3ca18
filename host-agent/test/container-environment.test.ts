// The environment the podman and systemd providers hand a console container, from a start request and the config.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { containerEnvironment } from '../src/providers/container-environment.js';

const req = { node: 'env-node', app: 'redfish-graphical' as const, appInfo: { address: 'https://10.0.0.5', username: 'root', password: 'pw' }, readOnly: true };

describe('containerEnvironment', () => {
  it('passes the console contract, and KVM_RELEASE_AFTER and the display size only when configured', () => {
    const plain = containerEnvironment(req, loadConfig({ env: {} })).env;
    expect(plain).toMatchObject({ APP: 'redfish-graphical', READ_ONLY: 'True' });
    expect(JSON.parse(plain.APP_INFO!)).toMatchObject({ address: 'https://10.0.0.5' });
    expect(plain).not.toHaveProperty('KVM_RELEASE_AFTER');
    expect(plain).not.toHaveProperty('DISPLAY_WIDTH');

    const set = containerEnvironment(req, loadConfig({ env: {}, overrides: { kvm_release_after: 0, display_width: 1024, display_height: 768 } })).env;
    expect(set).toMatchObject({ KVM_RELEASE_AFTER: '0', DISPLAY_WIDTH: '1024', DISPLAY_HEIGHT: '768' });
    expect(containerEnvironment(req, loadConfig({ env: {}, overrides: { kvm_release_after: 'always' } })).env.KVM_RELEASE_AFTER).toBe('always');
  });
});
