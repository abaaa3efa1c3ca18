import { existsSync, statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import type { AppInfo } from '@bmc-console/common/console-env';

/** Where a console finds the BMC's CA bundle when `verify_ca` names a file on the agent's host. */
export const CONTAINER_CA_PATH = '/run/bmc-console/ca/bmc-ca.pem';

export interface CaMount {
  hostPath: string;
  containerPath: string;
}

/**
 * When APP_INFO's `verify_ca` is a file path, the file must be mounted read-only into the container and APP_INFO
 * rewritten to the in-container path. Returns the APP_INFO to send and the mount, if any.
 */
export function planCaMount(node: string, appInfo: AppInfo): { appInfo: AppInfo; mount?: CaMount } {
  const ca = appInfo.verify_ca;
  if (typeof ca !== 'string') return { appInfo };
  if (/^(true|false|1|0|yes|no)$/i.test(ca)) return { appInfo }; // Ironic sometimes sends booleans as strings
  if (!isAbsolute(ca))
    throw new Error(
      `node ${node}: APP_INFO.verify_ca must be true, false or an absolute path of a CA bundle, got ${JSON.stringify(ca)}`,
    );
  if (!existsSync(ca) || !statSync(ca).isFile())
    throw new Error(`node ${node}: APP_INFO.verify_ca names ${ca}, which is not a readable file on the agent's host`);
  return {
    appInfo: { ...appInfo, verify_ca: CONTAINER_CA_PATH },
    mount: { hostPath: ca, containerPath: CONTAINER_CA_PATH },
  };
}
