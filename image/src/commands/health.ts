/**
 * `bmc-console health`: the image's HEALTHCHECK. Healthy (exit 0) when x11vnc listens on VNC_PORT, read from the
 * kernel's TCP tables, not by connecting: the supervisor counts connections as VNC viewers (KVM_RELEASE_AFTER),
 * and a connecting check that is slow on a loaded host would log in to the BMC every 30 s.
 */
import { readFileSync } from 'node:fs';
import { CONSOLE_DEFAULTS } from '@bmc-console/common/console-env';
import { peersOnPort, TCP_TABLES } from '../supervisor/vnc-viewers.js';

export async function main(): Promise<number> {
  const port = Number(process.env.VNC_PORT) || CONSOLE_DEFAULTS.vncPort;
  const listening = TCP_TABLES.some((t) => {
    try {
      return peersOnPort(readFileSync(t, 'utf8'), port, 'listen').length > 0;
    } catch {
      return false; // no IPv6 table
    }
  });
  return listening ? 0 : 1;
}
