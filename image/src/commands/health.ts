/**
 * `bmc-console health`: the image's HEALTHCHECK. Healthy (exit 0) when x11vnc listens on VNC_PORT, read from the
 * kernel's TCP tables, not by connecting: the supervisor counts connections as VNC viewers (KVM_RELEASE_AFTER),
 * and a connecting check that is slow on a loaded host would log in to the BMC every 30 s.
 */
import { CONSOLE_DEFAULTS } from '@bmc-console/common/console-env';
import { peersOnPort, readProc, TCP_TABLES } from '../supervisor/vnc-viewers.js';

export async function main(): Promise<number> {
  const port = Number(process.env.VNC_PORT) || CONSOLE_DEFAULTS.vncPort;
  const listening = TCP_TABLES.some((t) => peersOnPort(readProc(t), port, 'listen').length > 0);
  return listening ? 0 : 1;
}
