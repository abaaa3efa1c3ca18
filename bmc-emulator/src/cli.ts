import { parseArgs } from 'node:util';
import { createLogger } from '@bmc-console/common/log';
import { startEmulator, type EmulatorOptions } from './emulator.js';
import { hostAddresses } from './host-address.js';
import { GUESSED_PORTS } from './hostile.js';
import { kvmMarkerColor } from './marker.js';
import { FEATURES, PROFILE_NAMES, getProfile, isFeature, type Feature, type ProfileName } from './profiles.js';
import emulatorPackage from '../package.json' with { type: 'json' };

const USAGE = `usage: bmc-emulator --vendor <profile> [--listen 127.0.0.1:<port>] [options]

Behaves like a vendor's BMC (Redfish + web UI + HTML5 KVM) over HTTPS. Prints one JSON line first:
{url, username, password, profile, family, controlUrl, ...}. The password is random unless the environment
variable BMC_EMULATOR_PASSWORD sets it (never pass secrets in argv).

  --vendor P            ${PROFILE_NAMES.join(', ')}
  --fixture DIR         serve captured Redfish JSON from DIR (root.json, Managers.json, ...) instead of the profile's
  --listen HOST:PORT    default 127.0.0.1:0 (free port); consoles need one of this machine's interface addresses
                        (they do not reach the host's loopback)
  --cert FILE --key FILE  TLS certificate and key (default: self-signed)
  --ca-dir DIR          generate a CA in DIR (ca.pem) and a server certificate signed by it
  --node NAME           node name on the KVM screen (default node-1)
  --username NAME       login name (default: the vendor's factory user)
  --rp-port N           XCC viewer (remote presence) port (default: free port)
  --fault F             wrong-password | kvm-busy | down (repeatable)
  --session-timeout N   sessions expire after N idle seconds
  --slow MS             delay every response by MS milliseconds
  --fail-path PATH      answer HTTP 500 on PATH (repeatable)
  --down                accept and reset every connection (toggle with POST /__emulator/control {"down":false})
  --kvm-busy            the console is held by someone else
  --no-primary          switch off the profile's primary console launch path (the fallback must work)
  --disable F / --enable F  switch a behaviour: ${FEATURES.join(', ')}
  --hostile             every HTML page also tries to reach the host agent, the proxy, other consoles, local files,
                        popups, downloads and DevTools from the console's browser, and reports each outcome
                        (state: GET controlUrl/__emulator/state, field "hostile")
  --hostile-host H      an address to aim at (repeatable; default 127.0.0.1, 10.0.2.2 and this machine's addresses)
  --hostile-port N      a real port to aim at (repeatable; added to ${GUESSED_PORTS.join(', ')})
  --hostile-node N      node name in the URLs it tries (repeatable; default --node)
  --version             print the version and exit
`;

function fail(msg: string): never {
  throw new UsageError(msg);
}

class UsageError extends Error {}

function int(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min) fail(`--${name}: expected an integer >= ${min}, got "${v}"`);
  return Number(v);
}

function parseCli(argv: string[]): EmulatorOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        vendor: { type: 'string' },
        fixture: { type: 'string' },
        listen: { type: 'string' },
        cert: { type: 'string' },
        key: { type: 'string' },
        'ca-dir': { type: 'string' },
        node: { type: 'string' },
        username: { type: 'string' },
        'rp-port': { type: 'string' },
        fault: { type: 'string', multiple: true },
        'session-timeout': { type: 'string' },
        slow: { type: 'string' },
        'fail-path': { type: 'string', multiple: true },
        down: { type: 'boolean' },
        'kvm-busy': { type: 'boolean' },
        'no-primary': { type: 'boolean' },
        disable: { type: 'string', multiple: true },
        enable: { type: 'string', multiple: true },
        hostile: { type: 'boolean' },
        'hostile-host': { type: 'string', multiple: true },
        'hostile-port': { type: 'string', multiple: true },
        'hostile-node': { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    fail((e as Error).message);
  }
  const v = parsed.values;
  if (v.help) fail('');
  if (!v.vendor && !v.fixture) fail('--vendor: required (or --fixture DIR)');
  if (v.vendor) {
    try {
      getProfile(v.vendor);
    } catch (e) {
      fail(`--vendor: ${(e as Error).message.replace(/^vendor: /, '')}`);
    }
  }
  let host = '127.0.0.1';
  let port = 0;
  if (v.listen !== undefined) {
    const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(v.listen);
    if (!m || Number(m[2]) > 65535) fail(`--listen: expected HOST:PORT such as 127.0.0.1:8443, got "${v.listen}"`);
    host = (m[1] ?? '').replace(/^\[|\]$/g, '');
    port = Number(m[2]);
  }
  const features = (flag: string, list: string[] | undefined): Feature[] =>
    (list ?? []).map((f) =>
      isFeature(f) ? f : fail(`--${flag}: unknown behaviour "${f}"; expected one of ${FEATURES.join(', ')}`),
    );
  const faults: NonNullable<EmulatorOptions['faults']> = {};
  for (const f of v.fault ?? []) {
    if (f === 'wrong-password') faults.wrongPassword = true;
    else if (f === 'kvm-busy') faults.kvmBusy = true;
    else if (f === 'down') faults.down = true;
    else fail(`--fault: unknown fault "${f}"; expected wrong-password, kvm-busy or down`);
  }
  if (v.down) faults.down = true;
  if (v['kvm-busy']) faults.kvmBusy = true;
  const timeout = int('session-timeout', v['session-timeout'], 1);
  if (timeout !== undefined) faults.sessionTimeoutS = timeout;
  const slow = int('slow', v.slow, 0);
  if (slow !== undefined) faults.slowMs = slow;
  for (const p of v['fail-path'] ?? [])
    if (!p.startsWith('/')) fail(`--fail-path: expected a path starting with /, got "${p}"`);
  if (v['fail-path']) faults.failPaths = v['fail-path'];
  if ((v.cert === undefined) !== (v.key === undefined))
    fail(v.cert === undefined ? '--cert: required with --key' : '--key: required with --cert');
  const rpPort = int('rp-port', v['rp-port'], 0);
  const hostileFlags = v['hostile-host'] ?? v['hostile-port'] ?? v['hostile-node'];
  if (hostileFlags && !v.hostile) fail('--hostile-host, --hostile-port and --hostile-node need --hostile');
  const hostilePorts = (v['hostile-port'] ?? []).map((p) => {
    const n = int('hostile-port', p, 1)!;
    return n > 65535 ? fail(`--hostile-port: expected a port from 1 to 65535, got "${p}"`) : n;
  });
  return {
    ...(v.vendor ? { vendor: v.vendor as ProfileName } : {}),
    ...(v.fixture ? { fixture: v.fixture } : {}),
    host,
    port,
    ...(v.cert ? { certFile: v.cert } : {}),
    ...(v.key ? { keyFile: v.key } : {}),
    ...(v['ca-dir'] ? { caDir: v['ca-dir'] } : {}),
    ...(v.node ? { node: v.node } : {}),
    ...(v.username ? { username: v.username } : {}),
    ...(rpPort !== undefined ? { rpPort } : {}),
    faults,
    disable: features('disable', v.disable),
    enable: features('enable', v.enable),
    noPrimary: v['no-primary'] ?? false,
    ...(v.hostile
      ? {
          hostile: {
            hosts: v['hostile-host'] ?? ['127.0.0.1', '10.0.2.2', ...hostAddresses({ ipv6: true })],
            ports: hostilePorts,
            ...(v['hostile-node'] ? { nodes: v['hostile-node'] } : {}),
          },
        }
      : {}),
  };
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--version')) {
    process.stdout.write(`${emulatorPackage.version}\n`);
    return 0;
  }
  let opts: EmulatorOptions;
  try {
    opts = parseCli(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      if (e.message) process.stderr.write(`bmc-emulator: ${e.message}\n\n`);
      process.stderr.write(USAGE);
      return e.message ? 2 : 0;
    }
    throw e;
  }
  const log = createLogger('bmc-emulator');
  let emu;
  try {
    emu = await startEmulator({ ...opts, logger: log });
  } catch (e) {
    process.stderr.write(`bmc-emulator: ${(e as Error).message}\n`);
    return 1;
  }
  const profile = getProfile(emu.profile);
  // Handlers before the ready line, so a stop sent as soon as it is read still closes the emulator cleanly.
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  process.stdout.write(
    `${JSON.stringify({
      url: emu.url,
      username: emu.username,
      password: emu.password,
      profile: emu.profile,
      family: emu.family,
      generation: profile.generation,
      ...(opts.fixture ? { fixture: opts.fixture } : {}),
      ...(emu.caFile ? { caFile: emu.caFile } : {}),
      ...(emu.viewerUrl ? { viewerUrl: emu.viewerUrl } : {}),
      controlUrl: emu.controlUrl,
      stateUrl: `${emu.controlUrl}/__emulator/state`,
      markerColor: kvmMarkerColor(emu.profile).hex,
      features: emu.state().features,
      primaryFeature: profile.primaryFeature,
    })}\n`,
  );
  // Logs only after the JSON line: it must stay the first line on stdout.
  log.info({ profile: emu.profile, url: emu.url }, 'bmc emulator listening');
  await stopped;
  await emu.close();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`bmc-emulator: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
