import { consoleTargetSchema } from '@bmc-console/common/contracts/agent-api';
import { type ConsoleEndpoint, endpointOf } from './console-endpoint.js';
import { HttpTransport, TransportError, withRetries } from './http-transport.js';

/** Where a running console answers and how to log in to it; the endpoint's secrets never leave the proxy. */
export interface AgentConsoleTarget {
  node: string;
  console: ConsoleEndpoint;
  readOnly: boolean;
  record: boolean;
}

/** Asks where a console answers, for tokens checked by someone other than the agent; undefined: no such console. */
export interface ConsoleTargetSource {
  target(node: string): Promise<AgentConsoleTarget | undefined>;
  close(): void;
}

export interface AgentTargetOptions {
  timeoutMs: number;
  /** Sent as `Authorization: Bearer <key>` (an agent on TCP requires it; its socket does not). */
  apiKey?: string;
  /** Waits before asking again after transient trouble (no answer, refused, HTTP 5xx). */
  retryDelaysMs?: number[];
}

/**
 * Asks the host agent: POST {agentUrl}/v1/consoles/{node}/target. The agent answers only for a running console it
 * started (404 otherwise); its answer carries the console's VNC password or its BMC's credentials, so it is never logged.
 */
export class AgentTargetClient implements ConsoleTargetSource {
  private readonly transport: HttpTransport;

  constructor(
    agentUrl: string,
    private readonly opts: AgentTargetOptions,
  ) {
    this.transport = new HttpTransport(agentUrl, { service: 'the agent', timeoutMs: opts.timeoutMs });
  }

  target(node: string): Promise<AgentConsoleTarget | undefined> {
    return withRetries(this.opts.retryDelaysMs ?? [250], () => this.targetOnce(node));
  }

  close(): void {
    this.transport.close();
  }

  private async targetOnce(node: string): Promise<AgentConsoleTarget | undefined> {
    const { status, body } = await this.transport.request(
      'POST',
      `/v1/consoles/${encodeURIComponent(node)}/target`,
      // On a unix socket Node sends `Host: localhost`, which the agent accepts; on TCP the URL's host is sent.
      this.opts.apiKey !== undefined ? { authorization: `Bearer ${this.opts.apiKey}` } : {},
    );
    const where = this.transport.where;
    // 400: a node id the agent refuses cannot be one of its consoles.
    if (status === 404 || status === 400) return undefined;
    if (status === 401)
      throw new TransportError(
        `${where} refused the API key (agentApiKeyFile must hold the agent's api_key_file)`,
        false,
      );
    if (status >= 500) throw new TransportError(`${where} answered HTTP ${status}`, true);
    if (status !== 200) throw new TransportError(`${where} answered HTTP ${status} to a console target request`, false);
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      throw new TransportError(`${where} answered a console target request with a body that is not JSON`, false);
    }
    const r = consoleTargetSchema.safeParse(json);
    // Issue paths only: the values may hold the VNC password.
    if (!r.success)
      throw new TransportError(
        `${where} answered outside the console target contract (${r.error.issues.map((i) => i.path.join('.') || 'body').join(', ')})`,
        false,
      );
    if (r.data.node !== node)
      throw new TransportError(`${where} answered a console target request for another node`, false);
    return { node: r.data.node, console: endpointOf(r.data), readOnly: r.data.readOnly, record: r.data.record };
  }
}
