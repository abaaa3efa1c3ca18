/**
 * Our console image run the way Ironic 29's own `systemd` console provider runs a console image, for every emulator
 * profile: `podman run` without `--init`, `APP=redfish-graphical`, `APP_INFO` holding exactly the keys Ironic's
 * `redfish_utils.parse_driver_info` produces, `READ_ONLY=False`, no VNC password, published on 127.0.0.1, network
 * slirp4netns. A plain RFB client (security type None, as ironic-novncproxy speaks it) must see the emulator's KVM
 * and its typed keys must reach the emulated host.
 *
 * APP_INFO holds the BMC password, so it reaches podman through podman's environment (`-e APP_INFO` without a value),
 * never its argv. Lenovo XCC with verify_ca false does not show its KVM (the viewer port's certificate is not
 * pinned, image/src/supervisor/browser-trust.ts): xcc and xcc2 get a CA bundle mounted into the container instead.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '@bmc-console/bmc-emulator/emulator';
import { hostAddress } from '@bmc-console/bmc-emulator/host-address';
import { kvmMarkerColor } from '@bmc-console/bmc-emulator/marker';
import { getProfile, PROFILE_NAMES, type ProfileName } from '@bmc-console/bmc-emulator/profiles';
import { createLogger } from '@bmc-console/common/log';
import { RfbClient } from '@bmc-console/common/rfb/client';
import { limiter } from '../src/limiter.js';
import { CONSOLE_IMAGE, consoleImageMissing } from '../src/preconditions.js';
import { findColourBlock } from '../src/screen.js';
import { until } from '../src/until.js';
import { podman, removeContainer } from '../ironic/lib/podman.js';
import { tempDir } from '@bmc-console/common/testing/temp-dir';

const skip = consoleImageMissing();
if (skip) console.warn(`skipping the Ironic contract tests: ${skip}`);

/** Consoles at once: each is a Chromium on a 2-core machine. */
const PARALLEL = 2;
/** Where a CA bundle is mounted for verify_ca (Ironic passes redfish_verify_ca paths through unchanged). */
const CA_IN_CONTAINER = '/etc/bmc-console-test/ca.pem';

const CASES = PROFILE_NAMES.filter((p): p is Exclude<ProfileName, 'unknown'> => p !== 'unknown').map((profile) => ({
  profile,
  trust: profile.startsWith('xcc')
    ? 'verify_ca = a CA bundle mounted into the container (XCC with verify_ca false shows no KVM yet)'
    : 'verify_ca false',
}));

/** Ironic 29's `redfish_utils.parse_driver_info(node)` for a node enrolled with this emulator. */
function ironicAppInfo(
  emu: RunningEmulator,
  profile: ProfileName,
  nodeUuid: string,
  verifyCa: boolean | string,
): Record<string, unknown> {
  const u = new URL(emu.url);
  return {
    address: `${u.protocol}//${u.host}`,
    system_id: `/redfish/v1/Systems/${getProfile(profile).systemId}`,
    username: emu.username,
    password: emu.password,
    verify_ca: verifyCa,
    auth_type: 'auto',
    node_uuid: nodeUuid,
  };
}

describe.skipIf(skip)(
  "our image under Ironic 29's systemd provider contract (podman run as its Quadlet template does)",
  () => {
    const run = limiter(PARALLEL);
    const t0 = Date.now();
    const log = createLogger('ironic-contract', { level: process.env.LOG_LEVEL ?? 'warn' });
    afterAll(() => {
      console.info(
        `ironic contract: ${CASES.length} consoles, ${PARALLEL} at a time, in ${Math.round((Date.now() - t0) / 1000)} s`,
      );
    });

    // A loop rather than it.each: it.each shortens interpolated strings, and the XCC case's title says why it differs.
    for (const { profile, trust } of CASES)
      it.concurrent(
        `${profile}, ${trust}: a plain VNC client sees the KVM and typing reaches the host`,
        () =>
          run(async () => {
            const started = Date.now();
            const xcc = profile.startsWith('xcc');
            const nodeUuid = crypto.randomUUID();
            const name = `bmc-ironic-contract-${process.pid}-${profile}`;
            const emu = await startEmulator({
              vendor: profile,
              host: hostAddress(),
              port: 0,
              node: `contract-${profile}`,
              logger: log,
              ...(xcc ? { caDir: tempDir('ironic-contract-ca-') } : {}),
            });
            let rfb: RfbClient | undefined;
            try {
              const appInfo = ironicAppInfo(emu, profile, nodeUuid, xcc ? CA_IN_CONTAINER : false);
              // Ironic's template: Image, PublishPort ($my_ip::5900, here 127.0.0.1), Environment APP, APP_INFO, READ_ONLY.
              await podman(
                [
                  'run',
                  '-d',
                  '--name',
                  name,
                  '--network',
                  'slirp4netns',
                  '--publish',
                  '127.0.0.1::5900',
                  '--env',
                  'APP=redfish-graphical',
                  '--env',
                  'APP_INFO',
                  '--env',
                  'READ_ONLY=False',
                  ...(xcc ? ['-v', `${emu.caFile}:${CA_IN_CONTAINER}:ro`] : []),
                  CONSOLE_IMAGE,
                ],
                { env: { ...process.env, APP_INFO: JSON.stringify(appInfo) } },
              );
              const inspect = await podman(['inspect', name]);
              expect(inspect).not.toMatch(/"--init"|"Init": true/);
              // `podman port` prints "127.0.0.1:<port>", as Ironic's provider parses it.
              const published = (await podman(['port', name, '5900'])).trim().split('\n')[0] ?? '';
              const m = /^127\.0\.0\.1:(\d+)$/.exec(published);
              expect(m, `podman port: ${published}`).not.toBeNull();
              const port = Number(m![1]);
              rfb = await until(
                `${profile}: the console's VNC server (security None)`,
                () => RfbClient.connect({ host: '127.0.0.1', port, timeoutMs: 20_000 }),
                120_000,
                1000,
              );
              const c = rfb;
              const marker = kvmMarkerColor(profile);
              await until(
                `${profile}: the KVM marker on the VNC frame`,
                async () => {
                  await c.requestUpdate(false);
                  return findColourBlock({ width: c.width, height: c.height, rgba: c.framebuffer }, marker, 40);
                },
                150_000,
                500,
              );
              // A click in the middle of the KVM, then keys, as a person at Ironic's noVNC would.
              c.pointerEvent(Math.floor(c.width / 2), Math.floor(c.height / 2), 1);
              c.pointerEvent(Math.floor(c.width / 2), Math.floor(c.height / 2), 0);
              await c.typeText('ironic');
              await until(
                `${profile}: typed keys at the emulated host`,
                () => emu.state().typed.includes('ironic'),
                30_000,
              );
              console.info(
                `ironic contract: ${profile} KVM and typing in ${Math.round((Date.now() - started) / 1000)} s`,
              );
            } catch (err) {
              const logs = await podman(['logs', '--tail', '20', name]).catch(() => '');
              throw new Error(
                `${(err as Error).message}\n${profile} console log ends:\n${logs.split(emu.password).join('***')}`,
              );
            } finally {
              rfb?.close();
              await removeContainer(name);
              await emu.close();
            }
          }),
        900_000,
      );
  },
);
