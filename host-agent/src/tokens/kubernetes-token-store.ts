/**
 * Tokens on the console's own Kubernetes Secret (annotations: the target and the token hashes with their expiry;
 * the VNC password is in the Secret's data), so any agent or proxy replica can verify without local state.
 * Writes use the Secret's resourceVersion (optimistic concurrency) and retry on conflict.
 * When a console stops its objects are deleted, so a token of a stopped console reports `unknown`, not `revoked`.
 */
import type { ViewerRole } from '@bmc-console/common/contracts/agent-api';
import type { Secret } from 'kubernetes-types/core/v1.js';
import { SECRET_VARIABLE_OF } from '@bmc-console/common/contracts/secret-names';
import { consoleName, K8S_NODE_LABEL } from '../providers/console-names.js';
import type { CommandResult } from '../run-command.js';
import {
  claimsOf,
  hashToken,
  newToken,
  sameHash,
  type ConsoleTarget,
  type IssuedToken,
  type TokenClaims,
  type TokenStore,
  type VerifyResult,
} from './token-store.js';

const TARGET_ANNOTATION = 'bmc-console.io/target';
const TOKENS_ANNOTATION = 'bmc-console.io/tokens';

/** One token on the Secret; the claims are absent on tokens stored before claims existed (a control link). */
interface StoredToken {
  hash: string;
  createdAt: string;
  expiresAt: string;
  role?: ViewerRole;
  user?: string;
  exclusive?: boolean;
}

function tokensOf(secret: Secret): StoredToken[] {
  try {
    const list = JSON.parse(secret.metadata?.annotations?.[TOKENS_ANNOTATION] ?? '[]') as unknown;
    return Array.isArray(list) ? (list as StoredToken[]) : [];
  } catch {
    return [];
  }
}

/** What the store needs of the Kubernetes provider: where its consoles' Secrets are, and kubectl. */
export interface KubernetesSecrets {
  selector(): { namespace: string; selector: string };
  kubectl(args: string[], input?: string): Promise<CommandResult>;
}

export class KubernetesTokenStore implements TokenStore {
  constructor(
    private readonly provider: KubernetesSecrets,
    private readonly timeoutSeconds: number,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private secretName(node: string): string {
    return consoleName(node).toLowerCase();
  }

  async issue(node: string, target: ConsoleTarget, claims: TokenClaims): Promise<IssuedToken> {
    // A direct console has no Secret (no container): the agent keeps its tokens in its state (ConsoleAgent).
    if (target.direct) throw new Error(`node ${node}: a direct console's tokens are kept in the agent's state`);
    const { namespace } = this.provider.selector();
    const token = newToken();
    const created = this.now();
    const expiresAt = new Date(created.getTime() + this.timeoutSeconds * 1000);
    for (let attempt = 0; ; attempt++) {
      const got = await this.provider.kubectl(['get', 'secret', this.secretName(node), '-n', namespace, '-o', 'json']);
      if (got.code !== 0) throw new Error(`node ${node}: cannot read the console's Secret: ${got.stderr.trim()}`);
      const secret = JSON.parse(got.stdout) as Secret;
      const kept = tokensOf(secret).filter((t) => Date.parse(t.expiresAt) > created.getTime());
      kept.push({
        hash: hashToken(token),
        createdAt: created.toISOString(),
        expiresAt: expiresAt.toISOString(),
        role: claims.role,
        ...(claims.user !== undefined ? { user: claims.user } : {}),
        exclusive: claims.exclusive,
      });
      const targetJson = JSON.stringify({
        host: target.host,
        port: target.port,
        readOnly: target.readOnly,
        record: target.record,
      });
      const args = [
        'annotate',
        'secret',
        this.secretName(node),
        '-n',
        namespace,
        '--overwrite',
        `${TARGET_ANNOTATION}=${targetJson}`,
        `${TOKENS_ANNOTATION}=${JSON.stringify(kept)}`,
      ];
      if (secret.metadata?.resourceVersion) args.push(`--resource-version=${secret.metadata.resourceVersion}`);
      const r = await this.provider.kubectl(args);
      if (r.code === 0) return { token, expiresAt };
      if (!/conflict|the object has been modified/i.test(r.stderr) || attempt >= 4)
        throw new Error(`node ${node}: cannot store the token on the console's Secret: ${r.stderr.trim()}`);
    }
  }

  async verify(node: string, token: string): Promise<VerifyResult> {
    const { namespace, selector } = this.provider.selector();
    const r = await this.provider.kubectl(['get', 'secrets', '-n', namespace, '-l', selector, '-o', 'json']);
    if (r.code !== 0) throw new Error(`cannot list console Secrets: ${r.stderr.trim()}`);
    const hash = hashToken(token);
    let found: { secret: Secret; token: StoredToken } | undefined;
    for (const secret of (JSON.parse(r.stdout) as { items?: Secret[] }).items ?? [])
      for (const t of tokensOf(secret)) if (sameHash(t.hash, hash) && !found) found = { secret, token: t };
    if (!found) return { ok: false, reason: 'unknown' };
    if (found.secret.metadata?.labels?.[K8S_NODE_LABEL] !== node) return { ok: false, reason: 'wrong-node' };
    const expiresAt = new Date(found.token.expiresAt);
    if (expiresAt.getTime() <= this.now().getTime()) return { ok: false, reason: 'expired' };
    const target = JSON.parse(
      found.secret.metadata?.annotations?.[TARGET_ANNOTATION] ?? '{}',
    ) as Partial<ConsoleTarget>;
    if (!target.host || !target.port) return { ok: false, reason: 'unknown' };
    const vnc = found.secret.data?.[SECRET_VARIABLE_OF.vncPassword];
    return {
      ok: true,
      node,
      target: {
        host: target.host,
        port: target.port,
        readOnly: target.readOnly ?? false,
        ...(vnc ? { vncPassword: Buffer.from(vnc, 'base64').toString('utf8') } : {}),
        record: target.record ?? false,
      },
      claims: claimsOf(found.token),
      expiresAt,
    };
  }

  async revoke(node: string): Promise<void> {
    const { namespace } = this.provider.selector();
    await this.provider.kubectl([
      'annotate',
      'secret',
      this.secretName(node),
      '-n',
      namespace,
      '--overwrite',
      `${TOKENS_ANNOTATION}=[]`,
    ]);
  }
}
