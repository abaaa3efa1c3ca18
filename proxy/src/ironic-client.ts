import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { IronicConfig } from './config.js';
import { HttpTransport, TransportError, withRetries } from './http-transport.js';

/**
 * The lowest microversion: `states/console` has answered `console_enabled` and `console_info` since 1.1, and
 * Ironic's console URLs name nodes by UUID, so nothing newer is needed and any Ironic with graphical consoles works.
 */
const IRONIC_API_VERSION = '1.1';

/** What Ironic says about a node's console: not found (or hidden from the service account), or its state. */
export type IronicConsoleState = { found: false } | { found: true; consoleEnabled: boolean; url: string | undefined };

const ConsoleStateSchema = z.object({
  console_enabled: z.boolean(),
  console_info: z.object({ url: z.string().optional() }).loose().nullable().optional(),
});

/** Reads a file the config names; the error names the field and the cause, never the content. */
function readConfigured(file: string, field: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${field}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/**
 * Ironic's REST API as the proxy's service account sees it: GET {url}/v1/nodes/{node}/states/console, with no
 * credentials (auth_strategy noauth) or HTTP basic ones (auth_strategy http_basic, password read from a file once
 * at start). Keystone is not supported.
 */
export class IronicClient {
  private readonly transport: HttpTransport;
  private readonly headers: Record<string, string>;

  constructor(
    private readonly config: IronicConfig,
    credentials: { password?: string; ca?: Buffer } = {},
    private readonly retryDelaysMs: readonly number[] = [250],
  ) {
    this.transport = new HttpTransport(config.url, {
      service: 'Ironic',
      timeoutMs: config.timeoutMs,
      ...(credentials.ca ? { ca: credentials.ca } : {}),
      maxAnswerBytes: 256 * 1024,
    });
    const auth: Record<string, string> =
      config.authStrategy === 'http_basic'
        ? {
            authorization: `Basic ${Buffer.from(`${config.username ?? ''}:${credentials.password ?? ''}`).toString('base64')}`,
          }
        : {};
    this.headers = {
      accept: 'application/json',
      'x-openstack-ironic-api-version': IRONIC_API_VERSION,
      'user-agent': 'bmc-console-proxy',
      ...auth,
    };
  }

  /** Builds the client from the validated config, reading the password and CA files; errors name the field. */
  static fromConfig(config: IronicConfig): IronicClient {
    let password: string | undefined;
    if (config.authStrategy === 'http_basic') {
      // One trailing newline is the file's, not the password's.
      password = readConfigured(config.passwordFile ?? '', 'ironic.passwordFile').replace(/\r?\n$/, '');
      if (password === '') throw new Error(`ironic.passwordFile: ${config.passwordFile} is empty`);
    }
    const ca = config.caFile !== undefined ? Buffer.from(readConfigured(config.caFile, 'ironic.caFile')) : undefined;
    if (ca !== undefined && !ca.includes('-----BEGIN CERTIFICATE-----'))
      throw new Error(`ironic.caFile: ${config.caFile} holds no PEM certificate`);
    return new IronicClient(config, { ...(password !== undefined ? { password } : {}), ...(ca ? { ca } : {}) });
  }

  get url(): string {
    return this.config.url;
  }

  consoleState(node: string): Promise<IronicConsoleState> {
    return withRetries(this.retryDelaysMs, () => this.consoleStateOnce(node));
  }

  close(): void {
    this.transport.close();
  }

  private async consoleStateOnce(node: string): Promise<IronicConsoleState> {
    const { status, body } = await this.transport.request(
      'GET',
      `/v1/nodes/${encodeURIComponent(node)}/states/console`,
      this.headers,
    );
    const where = this.transport.where;
    // 404: no such node, or one the account may not see; 400: not a node id Ironic accepts.
    if (status === 404 || status === 400) return { found: false };
    if (status === 401 || status === 403) {
      throw new TransportError(
        `${where} refused the proxy's service account (HTTP ${status}): check ironic.authStrategy, ironic.username, ironic.passwordFile and the account's role (baremetal:node:get_console)`,
        false,
      );
    }
    if (status === 406)
      throw new TransportError(`${where} does not accept API version ${IRONIC_API_VERSION} (HTTP 406)`, false);
    if (status >= 500) throw new TransportError(`${where} answered HTTP ${status}`, true);
    if (status !== 200) throw new TransportError(`${where} answered HTTP ${status} to GET states/console`, false);
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      throw new TransportError(`${where} answered GET states/console with a body that is not JSON`, false);
    }
    const r = ConsoleStateSchema.safeParse(json);
    // Paths only: the answer's values hold the console token.
    if (!r.success)
      throw new TransportError(
        `${where} answered GET states/console outside its contract (${r.error.issues.map((i) => i.path.join('.') || 'body').join(', ')})`,
        false,
      );
    return { found: true, consoleEnabled: r.data.console_enabled, url: r.data.console_info?.url };
  }
}
