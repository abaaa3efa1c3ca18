/** Ironic's REST API as an operator uses it for a console: enroll a redfish node, validate, manage, console on/off. */
import type { RunningEmulator } from '@bmc-console/bmc-emulator/emulator';
import { until } from '../../src/until.js';

// No kept-alive connections: Ironic's eventlet WSGI server waits for open connections when it is stopped (30 s).
const HEADERS = {
  'X-OpenStack-Ironic-API-Version': '1.96',
  'content-type': 'application/json',
  accept: 'application/json',
  connection: 'close',
};

export interface IronicNode {
  uuid: string;
  provision_state: string;
  power_state: string | null;
  console_enabled: boolean;
  last_error: string | null;
  driver_internal_info: Record<string, unknown>;
}

/** undici's "fetch failed" hides the reason in `cause` ("other side closed", ECONNREFUSED, ...). */
export function describeFetchError(err: unknown): string {
  const e = err as Error & { cause?: { message?: string; code?: string } };
  const cause = e.cause?.code ?? e.cause?.message;
  return cause ? `${e.message} (${cause})` : e.message;
}

export class IronicApi {
  /** `log`: Ironic's log, whose last lines a call that got no answer quotes (what Ironic was doing then). */
  constructor(
    readonly url: string,
    private readonly log?: () => string,
  ) {}

  /**
   * One call; a failure names the method, path and Ironic's error text (its faultstring never holds passwords).
   * A GET whose connection dropped before any answer is asked once more (a read is safe to repeat; a change is never
   * sent twice): such drops came from websockify's forks while Ironic ran its noVNC proxy in the API's process
   * (ironic-server.ts), and a call that gets no answer quotes the end of Ironic's log.
   */
  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let r: Response;
    try {
      r = await this.send(method, path, body);
    } catch (err) {
      // A timeout is not retried: it already waited a minute.
      if (method !== 'GET' || (err as Error).name === 'TimeoutError')
        throw new Error(`Ironic ${method} ${path}: ${describeFetchError(err)}${this.logTail()}`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      r = await this.send(method, path, body).catch((again: unknown) => {
        throw new Error(`Ironic ${method} ${path} (asked twice): ${describeFetchError(again)}${this.logTail()}`);
      });
    }
    const text = await r.text();
    if (!r.ok) throw new Error(`Ironic ${method} ${path}: HTTP ${r.status} ${text.slice(0, 500)}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  private logTail(): string {
    const lines = this.log?.().trimEnd().split('\n').slice(-30);
    return lines?.length ? `\nIronic's log ends:\n${lines.join('\n')}` : '';
  }

  private send(method: string, path: string, body: unknown): Promise<Response> {
    return fetch(`${this.url}${path}`, {
      method,
      headers: HEADERS,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(60_000),
    });
  }

  /** Enrolls a redfish node with the redfish-graphical console for this emulator (TLS: the BMC's certificate is self-signed). */
  async enroll(name: string, emu: RunningEmulator, systemId?: string): Promise<IronicNode> {
    return this.call<IronicNode>('POST', '/v1/nodes', {
      name,
      driver: 'redfish',
      console_interface: 'redfish-graphical',
      driver_info: {
        redfish_address: emu.url,
        ...(systemId ? { redfish_system_id: systemId } : {}),
        redfish_username: emu.username,
        redfish_password: emu.password,
        redfish_verify_ca: false,
      },
    });
  }

  node(uuid: string): Promise<IronicNode> {
    return this.call<IronicNode>('GET', `/v1/nodes/${uuid}`);
  }

  validate(uuid: string): Promise<Record<string, { result: boolean | null; reason: string | null }>> {
    return this.call('GET', `/v1/nodes/${uuid}/validate`);
  }

  /** `manage` and waits for `manageable` (Ironic reads the power state from the BMC on the way). */
  async manage(uuid: string): Promise<IronicNode> {
    await this.call('PUT', `/v1/nodes/${uuid}/states/provision`, { target: 'manage' });
    return until(
      `node ${uuid} to become manageable`,
      async () => {
        const n = await this.node(uuid);
        if (n.last_error && n.provision_state !== 'verifying') throw new Error(`manage failed: ${n.last_error}`);
        return n.provision_state === 'manageable' ? n : null;
      },
      120_000,
      1000,
    );
  }

  async setPower(uuid: string, target: 'power on' | 'power off'): Promise<IronicNode> {
    await this.call('PUT', `/v1/nodes/${uuid}/states/power`, { target });
    return until(
      `node ${uuid} to reach ${target}`,
      async () => {
        const n = await this.node(uuid);
        if (n.last_error) throw new Error(`power ${target} failed: ${n.last_error}`);
        return n.power_state === target ? n : null;
      },
      120_000,
      1000,
    );
  }

  /** PUT states/console and waits until Ironic says the console is (or is not) enabled; an error fails at once. */
  async setConsole(uuid: string, enabled: boolean, timeoutMs = 240_000): Promise<IronicNode> {
    await this.call('PUT', `/v1/nodes/${uuid}/states/console`, { enabled });
    return this.waitConsole(uuid, enabled, timeoutMs);
  }

  waitConsole(uuid: string, enabled: boolean, timeoutMs: number): Promise<IronicNode> {
    return until(
      `Ironic to report the console of ${uuid} ${enabled ? 'enabled' : 'disabled'}`,
      async () => {
        const n = await this.node(uuid);
        if (n.last_error) throw new Error(`console ${enabled ? 'enable' : 'disable'} failed: ${n.last_error}`);
        return n.console_enabled === enabled ? n : null;
      },
      timeoutMs,
      1000,
    );
  }

  /** The console URL Ironic hands out (GET states/console: console_info.url). */
  async consoleUrl(uuid: string): Promise<string> {
    const s = await this.call<{ console_enabled: boolean; console_info: { type: string; url: string } | null }>(
      'GET',
      `/v1/nodes/${uuid}/states/console`,
    );
    if (!s.console_enabled || !s.console_info?.url) throw new Error(`Ironic has no console URL for ${uuid}`);
    return s.console_info.url;
  }
}
