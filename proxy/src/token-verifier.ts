import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { z } from 'zod';

/** Where a valid token leads: exactly one console. vncPassword never leaves the proxy. */
export interface ConsoleTarget {
  node: string;
  host: string;
  port: number;
  vncPassword?: string;
  readOnly: boolean;
  expiresAt: Date;
}

export type TokenRejection = 'unknown' | 'expired' | 'revoked' | 'wrong-node';

export type VerifyResult = { ok: true; target: ConsoleTarget } | { ok: false; reason: TokenRejection };

/** Turns (node, token) into a console target or a reason; throws only when the answer could not be obtained. */
export interface TokenVerifier {
  verify(node: string, token: string): Promise<VerifyResult>;
}

const AcceptedSchema = z.object({
  node: z.string().min(1),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  vncPassword: z.string().min(1).optional(),
  readOnly: z.boolean(),
  expiresAt: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'expiresAt must be an ISO date'),
});

const RejectedSchema = z.object({ reason: z.enum(['unknown', 'expired', 'revoked', 'wrong-node']) });

/** Thrown when the agent cannot be asked or answers outside its contract (counts as "agent unavailable"). */
export class AgentUnavailableError extends Error {
  override name = 'AgentUnavailableError';
}

/**
 * Asks the host agent: POST {agentUrl}/v1/tokens/verify {"node","token"}. agentUrl is http(s)://host:port[/prefix]
 * or unix:/path/to/agent.sock.
 */
export class AgentTokenVerifier implements TokenVerifier {
  constructor(
    private readonly agentUrl: string,
    private readonly timeoutMs = 5000,
  ) {}

  async verify(node: string, token: string): Promise<VerifyResult> {
    const { status, body } = await this.post('/v1/tokens/verify', JSON.stringify({ node, token }));
    // The agent refuses input it cannot parse (e.g. a node id of the wrong shape): for the viewer that is an unknown token.
    if (status === 400) return { ok: false, reason: 'unknown' };
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      throw new AgentUnavailableError(`agent answered ${status} with a body that is not JSON`);
    }
    if (status === 200) {
      const r = AcceptedSchema.safeParse(json);
      if (!r.success) throw new AgentUnavailableError(`agent answer does not match the verify contract: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      if (r.data.node !== node) return { ok: false, reason: 'wrong-node' };
      const { expiresAt, vncPassword, ...rest } = r.data;
      return { ok: true, target: { ...rest, ...(vncPassword !== undefined ? { vncPassword } : {}), expiresAt: new Date(expiresAt) } };
    }
    if (status === 403) {
      const r = RejectedSchema.safeParse(json);
      if (!r.success) throw new AgentUnavailableError('agent answered 403 without a known reason');
      return { ok: false, reason: r.data.reason };
    }
    throw new AgentUnavailableError(`agent answered HTTP ${status}`);
  }

  private post(path: string, payload: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      let options: RequestOptions;
      let useHttps = false;
      if (this.agentUrl.startsWith('unix:')) {
        options = { socketPath: this.agentUrl.slice('unix:'.length), path };
      } else {
        const u = new URL(this.agentUrl);
        useHttps = u.protocol === 'https:';
        options = { hostname: u.hostname.replace(/^\[|\]$/g, ''), port: u.port || (useHttps ? 443 : 80), path: `${u.pathname.replace(/\/$/, '')}${path}` };
      }
      const req = (useHttps ? httpsRequest : httpRequest)(
        { ...options, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }, timeout: this.timeoutMs },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            body += c;
            if (body.length > 64 * 1024) req.destroy(new Error('answer too large'));
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          res.on('error', (e) => reject(new AgentUnavailableError(`agent answer failed: ${e.message}`)));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', (e) => reject(new AgentUnavailableError(`cannot reach the agent at ${this.agentUrl}: ${e.message}`)));
      req.end(payload);
    });
  }
}
