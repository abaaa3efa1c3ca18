/**
 * One real Ironic 29 in containers of ours: API and conductor in one process (`ironic`), `ironic-novncproxy` in a
 * second container on the same database, host network, sqlite, no RPC bus, noauth, hardware type redfish with the
 * redfish-graphical console, and our console provider (`[vnc]container_provider = bmc-console`) talking to the
 * agent: its unix socket mounted into the container, or its TCP API with the API key file mounted as
 * `[bmc_console]credential_file`.
 *
 * The noVNC proxy is not the one `ironic` starts itself with `[vnc]enabled`: websockify forks a process per browser
 * connection, the fork inherits eventlet's hub with the API's listening socket, and those forks answered REST
 * requests (265 of 407 made while a console was open) and dropped the ones in flight when the viewer left
 * (docs/ironic.md). Nobody connects to that built-in proxy here (its port is a free one nobody is told).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { until } from '../../src/until.js';
import { freePort } from '@bmc-console/common/free-port';
import { describeFetchError } from './ironic-api.js';
import { podman, removeContainer } from './podman.js';

/** How the conductor reaches the agent: the directory holding its `agent.sock`, or its TCP API and API key file. */
type IronicAgent = { socketDir: string } | { url: string; apiKeyFile: string };

const SOCKET_DIR_IN_CONTAINER = '/run/bmc-console-agent';
const KEY_FILE_IN_CONTAINER = '/etc/bmc-console/agent-api-key';

export interface IronicOptions {
  image: string;
  agent: IronicAgent;
  /** [vnc]public_url; default Ironic's own noVNC proxy with Debian's vnc_lite.html (it connects by itself). */
  publicUrl?: (novncPort: number) => string;
  /** [bmc_console]vnc_password: false for deployment 1 (Ironic's proxy), true for deployment 2 (ours). */
  vncPassword: boolean;
  /** [vnc]token_timeout (Ironic's minimum is 10). */
  tokenTimeoutSec?: number;
  /** [vnc]expire_console_session_interval: how often Ironic stops consoles whose token expired. */
  expireIntervalSec?: number;
  /** The API port, when something must know it before Ironic starts (our proxy's ironic.url); default a free one. */
  apiPort?: number;
}

export interface RunningIronic {
  /** http://127.0.0.1:<port>, Ironic's REST API. */
  api: string;
  /** Where Ironic's own noVNC proxy (`ironic-novncproxy`) listens. */
  novncPort: number;
  name: string;
  /** The noVNC proxy's log, then the conductor's (debug level). */
  log(): string;
  /**
   * Stops the conductor as systemd would (SIGTERM: Ironic then calls stop_all_containers), and the noVNC proxy; the
   * log stays readable.
   */
  stop(): Promise<void>;
  /** Stops it if still running, removes both containers and their files. */
  close(): Promise<void>;
}

let instances = 0;

/** True once something accepts TCP connections on 127.0.0.1:`port`. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port }, () => {
      sock.destroy();
      resolve(true);
    });
    sock.on('error', () => resolve(false));
  });
}

function agentMount(agent: IronicAgent): string[] {
  return 'url' in agent
    ? ['-v', `${agent.apiKeyFile}:${KEY_FILE_IN_CONTAINER}:ro`]
    : ['-v', `${agent.socketDir}:${SOCKET_DIR_IN_CONTAINER}`];
}

/** What `ironic-novncproxy` reads after ironic.conf: its own port (the public one) and its own log. */
function novncProxyConf(novncPort: number): string {
  return `[DEFAULT]
log_file = /var/lib/ironic/novncproxy.log

[vnc]
port = ${novncPort}
`;
}

/** `ports.builtInNovnc`: the port of the `ironic` process's own noVNC proxy, which nobody uses (see the header). */
function ironicConf(
  o: IronicOptions,
  ports: { api: number; novnc: number; builtInNovnc: number },
  conductor: string,
): string {
  const { api: apiPort, novnc: novncPort, builtInNovnc } = ports;
  return `[DEFAULT]
auth_strategy = noauth
rpc_transport = none
host = ${conductor}
enabled_hardware_types = redfish
enabled_power_interfaces = redfish
enabled_management_interfaces = redfish
enabled_console_interfaces = redfish-graphical,no-console
enabled_boot_interfaces = redfish-virtual-media
enabled_deploy_interfaces = direct,ramdisk
enabled_inspect_interfaces = no-inspect
enabled_network_interfaces = noop
enabled_raid_interfaces = no-raid
enabled_rescue_interfaces = no-rescue
enabled_vendor_interfaces = no-vendor
enabled_bios_interfaces = no-bios
enabled_firmware_interfaces = no-firmware
enabled_storage_interfaces = noop
log_file = /var/lib/ironic/ironic.log
debug = True

[api]
host_ip = 127.0.0.1
port = ${apiPort}

[database]
connection = sqlite:////var/lib/ironic/ironic.sqlite

[oslo_concurrency]
lock_path = /var/lib/ironic/locks

[vnc]
enabled = True
host_ip = 127.0.0.1
port = ${builtInNovnc}
public_url = ${o.publicUrl ? o.publicUrl(novncPort) : `http://127.0.0.1:${novncPort}/vnc_lite.html`}
container_provider = bmc-console
token_timeout = ${o.tokenTimeoutSec ?? 600}
expire_console_session_interval = ${o.expireIntervalSec ?? 120}

[bmc_console]
${'url' in o.agent ? `agent_url = ${o.agent.url}\ncredential_file = ${KEY_FILE_IN_CONTAINER}` : `agent_url = unix:${SOCKET_DIR_IN_CONTAINER}/agent.sock`}
vnc_password = ${o.vncPassword ? 'True' : 'False'}
timeout = 150
`;
}

/** Starts Ironic and waits until its API answers and its conductor serves the redfish hardware type. */
export async function startIronic(o: IronicOptions): Promise<RunningIronic> {
  const apiPort = o.apiPort ?? (await freePort());
  const novncPort = await freePort();
  const builtInNovnc = await freePort();
  const name = `bmc-ironic-test-${process.pid}-${++instances}`;
  const work = mkdtempSync(join(tmpdir(), 'bmc-ironic-test-'));
  mkdirSync(join(work, 'etc'));
  mkdirSync(join(work, 'lib'));
  const novncName = `${name}-novncproxy`;
  writeFileSync(
    join(work, 'etc', 'ironic.conf'),
    ironicConf(o, { api: apiPort, novnc: novncPort, builtInNovnc }, name),
  );
  writeFileSync(join(work, 'etc', 'novncproxy.conf'), novncProxyConf(novncPort));
  const readLog = (file: string) => {
    try {
      return readFileSync(join(work, 'lib', file), 'utf8');
    } catch {
      return '';
    }
  };
  // The conductor's last: a failed call quotes the end of this log (IronicApi).
  const log = () => readLog('novncproxy.log') + readLog('ironic.log');
  const api = `http://127.0.0.1:${apiPort}`;
  const stop = async () => {
    const t = Date.now();
    await Promise.all(
      [name, novncName].map((n) => podman(['stop', '-t', '30', n], { timeoutMs: 60_000 }).catch(() => undefined)),
    );
    console.info(`Ironic ${name} stopped in ${Math.round((Date.now() - t) / 1000)} s`);
  };
  const close = async () => {
    await stop();
    await Promise.all([removeContainer(name), removeContainer(novncName)]);
    rmSync(work, { recursive: true, force: true });
  };
  // Only the conductor talks to the agent: the noVNC proxy gets neither its socket nor its API key.
  const container = (containerName: string, mounts: string[], command: string) =>
    podman([
      'run',
      '-d',
      '--name',
      containerName,
      '--network',
      'host',
      '-v',
      `${join(work, 'etc')}:/etc/ironic:ro`,
      '-v',
      `${join(work, 'lib')}:/var/lib/ironic`,
      ...mounts,
      o.image,
      'bash',
      '-c',
      command,
    ]);
  await container(
    name,
    agentMount(o.agent),
    'mkdir -p /var/lib/ironic/locks && ironic-dbsync --config-file /etc/ironic/ironic.conf create_schema >/dev/null 2>&1 && exec ironic --config-file /etc/ironic/ironic.conf',
  ).catch((err: unknown) => {
    // No container and no RunningIronic to close: only the work dir is left to remove.
    rmSync(work, { recursive: true, force: true });
    throw err;
  });
  try {
    // The drivers list is empty until the conductor has registered, and nodes cannot be enrolled before.
    await until(
      "Ironic's API and conductor (redfish in GET /v1/drivers)",
      async () => {
        const r = await fetch(`${api}/v1/drivers`, {
          headers: { 'X-OpenStack-Ironic-API-Version': '1.96', connection: 'close' },
          signal: AbortSignal.timeout(5000),
        }).catch((e: unknown) => {
          // The cause (ECONNREFUSED, ECONNRESET, ...) tells a port taken by another listener from an API not up yet.
          throw new Error(describeFetchError(e));
        });
        if (!r.ok) return false;
        const body = (await r.json()) as { drivers: { name: string }[] };
        return body.drivers.some((d) => d.name === 'redfish');
      },
      180_000,
      1000,
    );
    // The noVNC proxy reads the nodes' console tokens from the database the conductor has just created.
    await container(
      novncName,
      [],
      'exec ironic-novncproxy --config-file /etc/ironic/ironic.conf --config-file /etc/ironic/novncproxy.conf',
    );
    await until(`ironic-novncproxy on port ${novncPort}`, () => accepts(novncPort), 60_000, 250);
  } catch (err) {
    const lines = log().split('\n');
    // Where the API said it listens (or why it could not), then the end of the log.
    const listen = lines.filter((l) => /wsgi starting up on|Address already in use|Could not bind/i.test(l));
    const tail =
      [...listen, ...lines.slice(-15)].join('\n') || (await podman(['logs', '--tail', '15', name]).catch(() => ''));
    await close();
    throw new Error(`${(err as Error).message}\nIronic's log ends:\n${tail}`);
  }
  return { api, novncPort, name, log, stop, close };
}
