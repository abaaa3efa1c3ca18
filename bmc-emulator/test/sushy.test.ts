import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../src/emulator.js';
import { PROFILE_NAMES, getProfile } from '../src/profiles.js';

// An independent Redfish client (Debian python3-sushy) must agree that the emulator speaks Redfish.
const PY = '/usr/bin/python3';
const SNIPPET = `
import json, sys, warnings
warnings.filterwarnings('ignore')
import sushy
out = []
for t in json.load(sys.stdin):
    s = sushy.Sushy(t['url'] + '/redfish/v1', username=t['username'], password=t['password'], verify=False)
    systems = list(s.get_system_collection().members_identities)
    managers = list(s.get_manager_collection().members_identities)
    sysr = s.get_system(systems[0])
    mgr = s.get_manager(managers[0])
    out.append({'profile': t['profile'], 'version': s.redfish_version, 'product': s.product, 'systems': systems, 'managers': managers,
                'system': sysr.identity, 'power': str(sysr.power_state), 'manufacturer': sysr.manufacturer,
                'manager': mgr.identity, 'model': mgr.model, 'firmware': mgr.firmware_version})
print(json.dumps(out))
`;

const hasSushy = spawnSync(PY, ['-c', 'import sushy'], { stdio: 'ignore' }).status === 0;
const emulators: RunningEmulator[] = [];

describe.skipIf(!hasSushy)('python3-sushy reads every profile', () => {
  beforeAll(async () => {
    for (const p of PROFILE_NAMES) emulators.push(await startEmulator({ vendor: p }));
  });
  afterAll(async () => {
    await Promise.all(emulators.map((e) => e.close()));
  });

  it('service root, Systems and Managers over HTTPS (verify=False)', async () => {
    const env = { ...process.env };
    // requests prefers REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE over a session's verify=False; drop them.
    delete env.REQUESTS_CA_BUNDLE;
    delete env.CURL_CA_BUNDLE;
    const input = JSON.stringify(emulators.map((e) => ({ url: e.url, username: e.username, password: e.password, profile: e.profile })));
    // Async spawn: the emulators live in this process and must keep serving while python runs.
    const child = spawn(PY, ['-c', SNIPPET], { env });
    const r = { stdout: '', stderr: '' };
    child.stdout.on('data', (c: Buffer) => (r.stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (r.stderr += c.toString()));
    child.stdin.end(input);
    await new Promise((resolve) => child.once('exit', resolve));
    expect(r.stderr).toBe('');
    const got = JSON.parse(r.stdout) as Record<string, unknown>[];
    expect(got).toHaveLength(PROFILE_NAMES.length);
    for (const g of got) {
      const p = getProfile(String(g.profile));
      expect(g).toMatchObject({
        version: p.root.RedfishVersion,
        systems: [p.systemId, ...(p.extraSystemIds ?? [])].map((id) => `/redfish/v1/Systems/${id}`),
        managers: [`/redfish/v1/Managers/${p.managerId}`],
        system: p.systemId,
        power: 'PowerState.ON',
        manager: p.managerId,
        firmware: p.manager.FirmwareVersion,
      });
      expect(g.model ?? undefined).toBe(p.manager.Model);
    }
  });
});
if (!hasSushy) describe('python3-sushy', () => it.skip('skipped: /usr/bin/python3 cannot import sushy (apt-get install python3-sushy)', () => undefined));
