import { readFileSync } from 'node:fs';
import { type ConsoleEndpoint, endpointOf } from './console-endpoint.js';
import { HttpTransport, TransportError } from './http-transport.js';
import {
  describeIssues,
  verifyOkSchema,
  verifyRefusedSchema,
  type TokenRejection,
  type VerifyRequest,
  type ViewerRole,
} from '@bmc-console/common/contracts/agent-api';

/** Where a valid token leads: exactly one console. Its endpoint's secrets never leave the proxy. */
export interface ConsoleTarget {
  node: string;
  /** An RFB port or a BMC the proxy logs in to (a direct console). */
  console: ConsoleEndpoint;
  readOnly: boolean;
  expiresAt: Date;
  /** What the token lets its viewer do. */
  role: ViewerRole;
  /** The name the token was issued for (shown to the other viewers, written into audit lines). */
  user: string | null;
  /** The token asks for sole control of the console. */
  exclusive: boolean;
  /** Sessions on this console must be recorded. */
  record: boolean;
}

export type VerifyResult = { ok: true; target: ConsoleTarget } | { ok: false; reason: TokenRejection };

/** Turns (node, token) into a console target or a reason; throws only when the answer could not be obtained. */
export interface TokenVerifier {
  verify(node: string, token: string): Promise<VerifyResult>;
}

/** Thrown when the agent cannot be asked or answers outside its contract (counts as "agent unavailable"). */
export class AgentUnavailableError extends Error {
  override name = 'AgentUnavailableError';
}

/** Transient trouble (agent restarting, busy, overloaded machine): worth asking again. */
class TransientAgentError extends AgentUnavailableError {}

export interface AgentVerifierOptions {
  /** How long one request to the agent may take. */
  timeoutMs?: number;
  /** Waits before the 2nd, 3rd, ... attempt after transient trouble (no answer, refused, HTTP 5xx). */
  retryDelaysMs?: number[];
  /** Sent as `Authorization: Bearer <key>` (an agent on TCP requires it; its socket does not). */
  apiKey?: string;
}

/** Reads the agent's API key file for an http(s) agentUrl; the error names the option and never the key. */
export function readAgentApiKey(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(
      `agentApiKeyFile: cannot read the agent's API key from ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); ` +
        "an agent on TCP creates it on its first start (its api_key_file): point agentApiKeyFile at it, or use the agent's unix socket as agentUrl",
    );
  }
  const key = text.trim();
  if (!/^[A-Za-z0-9_-]{43,512}$/.test(key))
    throw new Error(`agentApiKeyFile: ${file} does not hold an API key (43 or more base64url characters)`);
  return key;
}

/**
 * Asks the host agent: POST {agentUrl}/v1/tokens/verify {"node","token"}. agentUrl is http(s)://host:port[/prefix]
 * or unix:/path/to/agent.sock. Viewers opening at once with the same token share one request; connections are
 * kept alive; a request that got no answer, was refused or got a 5xx is asked again a few times (an agent that is
 * restarting or a machine under load must not turn a valid token into "token service unavailable").
 */
export class AgentTokenVerifier implements TokenVerifier {
  private readonly timeoutMs: number;
  private readonly retryDelaysMs: number[];
  private readonly apiKey: string | undefined;
  private readonly inFlight = new Map<string, Promise<VerifyResult>>();
  private readonly transport: HttpTransport;

  constructor(agentUrl: string, opts: number | AgentVerifierOptions = {}) {
    const o = typeof opts === 'number' ? { timeoutMs: opts } : opts;
    this.timeoutMs = o.timeoutMs ?? 5000;
    this.retryDelaysMs = o.retryDelaysMs ?? [250, 1000];
    this.apiKey = o.apiKey;
    this.transport = new HttpTransport(agentUrl, { service: 'the agent', timeoutMs: this.timeoutMs });
  }

  verify(node: string, token: string): Promise<VerifyResult> {
    const key = `${node}\n${token}`;
    let p = this.inFlight.get(key);
    if (!p) {
      p = this.verifyWithRetries(node, token).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, p);
    }
    return p;
  }

  /** Closes idle keep-alive connections (the proxy is shutting down). */
  close(): void {
    this.transport.close();
  }

  private async verifyWithRetries(node: string, token: string): Promise<VerifyResult> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.verifyOnce(node, token);
      } catch (err) {
        const delay = this.retryDelaysMs[attempt];
        if (!(err instanceof TransientAgentError) || delay === undefined) throw err;
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  private async verifyOnce(node: string, token: string): Promise<VerifyResult> {
    const { status, body } = await this.post(
      '/v1/tokens/verify',
      JSON.stringify({ node, token } satisfies VerifyRequest),
    );
    // The agent refuses input it cannot parse (e.g. a node id of the wrong shape): for the viewer that is an unknown token.
    if (status === 400) return { ok: false, reason: 'unknown' };
    if (status === 401)
      throw new AgentUnavailableError(
        "the agent refused the API key (agentApiKeyFile must hold the agent's api_key_file)",
      );
    if (status >= 500) throw new TransientAgentError(`agent answered HTTP ${status}`);
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      throw new AgentUnavailableError(`agent answered ${status} with a body that is not JSON`);
    }
    if (status === 200) {
      const r = verifyOkSchema.safeParse(json);
      if (!r.success)
        throw new AgentUnavailableError(`agent answer does not match the verify contract: ${describeIssues(r.error)}`);
      if (r.data.node !== node) return { ok: false, reason: 'wrong-node' };
      const { node: answered, readOnly, expiresAt, role, user, exclusive, record } = r.data;
      return {
        ok: true,
        target: {
          node: answered,
          console: endpointOf(r.data),
          readOnly,
          role,
          user: user ?? null,
          exclusive,
          record,
          expiresAt: new Date(expiresAt),
        },
      };
    }
    if (status === 403) {
      const r = verifyRefusedSchema.safeParse(json);
      if (!r.success) throw new AgentUnavailableError('agent answered 403 without a known reason');
      return { ok: false, reason: r.data.reason };
    }
    throw new AgentUnavailableError(`agent answered HTTP ${status}`);
  }

  private async post(path: string, payload: string): Promise<{ status: number; body: string }> {
    // On a unix socket Node sends `Host: localhost`, which the agent accepts; on TCP the URL's host is sent.
    const headers = {
      'content-type': 'application/json',
      ...(this.apiKey !== undefined ? { authorization: `Bearer ${this.apiKey}` } : {}),
    };
    try {
      return await this.transport.request('POST', path, headers, payload);
    } catch (err) {
      // Socket-level failures (refused, reset, timeout) are transient; an oversized answer is not.
      if (err instanceof TransportError)
        throw new (err.transient ? TransientAgentError : AgentUnavailableError)(err.message);
      throw err;
    }
  }
}
