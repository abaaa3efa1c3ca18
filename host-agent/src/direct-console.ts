/**
 * What a direct console needs before it starts: which KVM dialect the BMC speaks (Redfish discovery), the
 * DirectTarget the proxy and the RFB relay log in with (the image's rules for address and verify_ca), and, for
 * `auto`, a trial that logs in, opens the KVM, reads its ServerInit and logs out.
 */
import { readFile } from 'node:fs/promises';
import { bmcTarget, type AppInfo } from '@bmc-console/common/console-env';
import type { DirectTarget, DirectVendor } from '@bmc-console/common/contracts/direct-target';
import { loopbackBridge } from '@bmc-console/common/direct/loopback-bridge';
import { openDirectKvm } from '@bmc-console/common/direct/open-direct-kvm';
import { directVendorFor } from '@bmc-console/common/direct/support';
import { peerFingerprint } from '@bmc-console/common/direct/tls-options';
import { discover } from '@bmc-console/common/discovery/discover';
import { scrubSecrets, type Logger } from '@bmc-console/common/log';
import { createRedfishClient } from '@bmc-console/common/redfish/client';
import { RfbClient } from '@bmc-console/common/rfb/client';

/** The BMC's dialect, or null with why a direct console cannot serve it (never a secret). */
type DirectDialect = { vendor: DirectVendor } | { vendor: null; why: string };

/** An APP_INFO that validateStart accepted for redfish-graphical: address, username and password are set. */
export type RedfishAppInfo = AppInfo & { address: string; username: string; password: string };

/**
 * Asks the BMC's Redfish service what it is and maps that to a direct dialect. Rejects (RedfishError, already
 * scrubbed of the password) when the BMC cannot be read.
 */
export async function discoverDialect(info: RedfishAppInfo, timeoutMs: number, log: Logger): Promise<DirectDialect> {
  const client = createRedfishClient(bmcTarget(info), {
    timeoutMs,
    log,
    ...(info.auth_type ? { auth: info.auth_type } : {}),
  });
  try {
    const d = await discover(client, { log, ...(info.system_id ? { systemId: info.system_id } : {}) });
    return directVendorFor(d);
  } finally {
    await client.logout();
    client.close();
  }
}

/**
 * The DirectTarget of a node: verify_ca true checks against the system store, a CA bundle path (already checked
 * against ca_bundle_dir) against that bundle's text, and false pins the certificate the BMC shows now (https only).
 */
export async function directTargetFor(
  info: RedfishAppInfo,
  vendor: DirectVendor,
  timeoutMs: number,
): Promise<DirectTarget> {
  const { origin: address, verifyCa } = bmcTarget(info);
  const base = { vendor, address, username: info.username, password: info.password };
  if (verifyCa === true) return { ...base, verifyCa: true };
  if (typeof verifyCa === 'string') return { ...base, verifyCa: true, caBundlePem: await readFile(verifyCa, 'utf8') };
  if (!/^https:/i.test(address)) return { ...base, verifyCa: false };
  return { ...base, verifyCa: false, pinSha256: await peerFingerprint(address, timeoutMs) };
}

/**
 * Whether the BMC serves a direct console now: logs in, opens its KVM, reads the ServerInit through a standard RFB
 * handshake, and logs out. Resolves to null on success, else to why not (scrubbed of the password).
 */
export async function tryDirect(target: DirectTarget, timeoutMs: number, log: Logger): Promise<string | null> {
  let kvm: Awaited<ReturnType<typeof openDirectKvm>> | undefined;
  try {
    kvm = await openDirectKvm(target, { log, timeoutMs });
    const bridge = await loopbackBridge(kvm.stream);
    try {
      const viewer = await RfbClient.connect({ host: '127.0.0.1', port: bridge.port, timeoutMs });
      viewer.close();
    } finally {
      bridge.close();
    }
    return null;
  } catch (err) {
    return scrubSecrets(err instanceof Error ? err.message : String(err), [target.password]);
  } finally {
    await kvm
      ?.close()
      .catch((err: unknown) =>
        log.warn(
          { err: scrubSecrets(err instanceof Error ? err.message : String(err), [target.password]) },
          'direct trial: logout failed',
        ),
      );
  }
}
