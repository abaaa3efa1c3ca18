import { readFileSync } from 'node:fs';
// openDirectKvm against the BMC emulator's real RFB sockets (OpenBMC, XCC3, iDRAC9): a standard RFB client over the
// stream reads the marker colour (RGB565-converted for iDRAC), its keys reach the BMC, and close() logs out.
import { startEmulator, type RunningEmulator } from '@bmc-console/bmc-emulator/emulator';
import { kvmMarkerColor } from '@bmc-console/bmc-emulator/marker';
import { RfbClient } from '@bmc-console/common/rfb/client';
import { tempDir } from '@bmc-console/common/testing/temp-dir';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { DirectKvmError } from '@bmc-console/common/direct/errors';
import { loopbackBridge } from '@bmc-console/common/direct/loopback-bridge';
import { peerFingerprint } from '@bmc-console/common/direct/tls-options';
import { type DirectKvm, openDirectKvm } from '@bmc-console/common/direct/open-direct-kvm';
import type { DirectTarget, DirectVendor } from '@bmc-console/common/contracts/direct-target';

const log = pino({ level: 'silent' });
const PASSWORD = 'Direct-pw1';
const running: RunningEmulator[] = [];
afterAll(async () => {
  await Promise.all(running.map((e) => e.close()));
});

async function emulator(vendor: DirectVendor, caDir?: string): Promise<RunningEmulator> {
  const e = await startEmulator({ vendor, node: 'direct-node', password: PASSWORD, ...(caDir ? { caDir } : {}) });
  running.push(e);
  return e;
}

function target(e: RunningEmulator, vendor: DirectVendor, over: Partial<DirectTarget> = {}): DirectTarget {
  return { vendor, address: e.url, username: e.username, password: PASSWORD, verifyCa: false, ...over };
}

async function viewerOn(kvm: DirectKvm): Promise<RfbClient> {
  const bridge = await loopbackBridge(kvm.stream);
  const c = await RfbClient.connect({ host: '127.0.0.1', port: bridge.port, timeoutMs: 5000 });
  c.once('close', () => bridge.close());
  return c;
}

async function until(f: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

const near = (a: readonly number[], b: readonly number[], tol = 4) =>
  a.every((v, i) => Math.abs(v - (b[i] ?? -99)) <= tol);

describe.each([
  ['openbmc', 'OpenBMC IKVM', 'redfish'],
  ['xcc3', 'OpenBMC IKVM', 'web'],
  ['idrac9', 'OpenVNC', 'web'],
] as const)('%s direct KVM', (vendor, desktopName, sessionKind) => {
  it('shows the marker, carries keys, logs out on close', async () => {
    const e = await emulator(vendor);
    const kvm = await openDirectKvm(target(e, vendor), { log, timeoutMs: 5000 });
    const c = await viewerOn(kvm);
    expect([c.width, c.height, c.name]).toEqual([1024, 768, desktopName]);
    await c.requestUpdate(false);
    const m = kvmMarkerColor(vendor);
    // iDRAC sends RGB565: the marker comes back within the 5/6-bit quantisation.
    expect(near(c.pixel(0, 0), [m.r, m.g, m.b])).toBe(true);
    expect(near(c.pixel(63, 63), [m.r, m.g, m.b])).toBe(true);
    expect(c.pixel(64, 64)).toEqual([0, 0, 0]);
    await c.typeText('direct 7');
    await until(() => e.state().typed === 'direct 7');
    expect(e.state().liveKvmSessions).toBe(1);
    await c.requestUpdate(true); // the stream still flows after input
    c.close();
    await kvm.close();
    await until(() => e.state().liveKvmSessions === 0);
    const kinds = e.state().logouts.map((l) => l.kind);
    expect(kinds).toContain('kvm');
    expect(kinds).toContain(sessionKind);
    expect(e.state().redfishSessions + e.state().webSessions).toBe(0);
    await kvm.close(); // idempotent
  });

  it('names the login step for a wrong password and never echoes it', async () => {
    const e = await emulator(vendor);
    const wrong = 'Wrong-pw-secret';
    const err = await openDirectKvm(target(e, vendor, { password: wrong }), { log, timeoutMs: 5000 }).catch(
      (x: unknown) => x as Error,
    );
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^login: the BMC rejected the user name or password \(.*HTTP 401\)$/);
    expect((err as Error).message).not.toContain(wrong);
  });
});

describe('direct KVM edge cases', () => {
  it('OpenBMC: the fifth console is refused with the busy message and its session is logged out', async () => {
    const e = await emulator('openbmc');
    const open: DirectKvm[] = [];
    for (let i = 0; i < 4; i++) open.push(await openDirectKvm(target(e, 'openbmc'), { log, timeoutMs: 5000 }));
    await expect(openDirectKvm(target(e, 'openbmc'), { log, timeoutMs: 5000 })).rejects.toThrow(
      'kvm: the BMC refused the console: Max sessions are already connected',
    );
    expect(e.state().redfishSessions).toBe(4);
    await Promise.all(open.map((k) => k.close()));
    await until(() => e.state().liveKvmSessions === 0 && e.state().redfishSessions === 0);
  });

  it("iDRAC: the heartbeat keeps a console open past the BMC's silence timeout", async () => {
    const e = await emulator('idrac9');
    process.env.BMC_EMULATOR_IDRAC_HEARTBEAT_MS = '1000';
    try {
      const kvm = await openDirectKvm(target(e, 'idrac9'), { log, timeoutMs: 5000, heartbeatMs: 250 });
      const c = await viewerOn(kvm);
      await c.requestUpdate(false);
      await new Promise((r) => setTimeout(r, 2500));
      expect(e.state().liveKvmSessions).toBe(1);
      await c.requestUpdate(false);
      c.close();
      await kvm.close();
    } finally {
      delete process.env.BMC_EMULATOR_IDRAC_HEARTBEAT_MS;
    }
  });

  it('checks the certificate: a CA bundle path passes, the system store refuses the emulator', async () => {
    const e = await emulator('openbmc', tempDir('direct-ca-'));
    expect(e.caFile).toBeDefined();
    const caBundlePem = readFileSync(e.caFile ?? '', 'utf8');
    const kvm = await openDirectKvm(target(e, 'openbmc', { verifyCa: true, caBundlePem }), { log, timeoutMs: 5000 });
    await kvm.close();
    await expect(openDirectKvm(target(e, 'openbmc', { verifyCa: true }), { log, timeoutMs: 5000 })).rejects.toThrow(
      /^login: POST \/redfish\/v1\/SessionService\/Sessions failed: .*certificate/,
    );
  });

  it('with a pin, only the pinned certificate gets a request: another BMC at the address gets no credentials', async () => {
    const e = await emulator('openbmc');
    const pinSha256 = await peerFingerprint(e.url, 5000);
    const kvm = await openDirectKvm(target(e, 'openbmc', { pinSha256 }), { log, timeoutMs: 5000 });
    await kvm.close();
    const logins = e.state().logins.ok + e.state().logins.failed;

    // A BMC showing another certificate than the pinned one (a swapped BMC, or someone in between): the pin is the
    // first emulator's, the address the second's.
    const other = await emulator('openbmc', tempDir('direct-pin-'));
    const otherPin = await peerFingerprint(other.url, 5000);
    expect(otherPin).not.toBe(pinSha256);
    const err = await openDirectKvm(target(other, 'openbmc', { pinSha256 }), { log, timeoutMs: 5000 }).catch(
      (x: unknown) => x as DirectKvmError,
    );
    expect(err).toBeInstanceOf(DirectKvmError);
    expect((err as DirectKvmError).failure).toBe('certificate');
    expect((err as DirectKvmError).message).toMatch(/not the one seen when the console started/);
    expect(other.state().logins).toEqual({ ok: 0, failed: 0 });
    expect(e.state().logins.ok + e.state().logins.failed).toBe(logins);
  });
});
