import type { StateStore, TokenEntry } from '../state-store.js';
import {
  claimsOf,
  endpointOf,
  hashToken,
  newToken,
  sameHash,
  type ConsoleTarget,
  type IssuedToken,
  type TokenClaims,
  type TokenStore,
  type VerifyResult,
} from './token-store.js';

/** Expired and revoked entries are kept this long so the proxy can say why a token fails, then pruned. */
const KEEP_AFTER_EXPIRY_MS = 24 * 3600_000;

/** Tokens in the agent's state file: only their SHA-256, with node, target, claims, created and expiry. */
export class FileTokenStore implements TokenStore {
  constructor(
    private readonly store: StateStore,
    private readonly timeoutSeconds: number,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async issue(node: string, target: ConsoleTarget, claims: TokenClaims): Promise<IssuedToken> {
    const token = newToken();
    const created = this.now();
    const expiresAt = new Date(created.getTime() + this.timeoutSeconds * 1000);
    const entry: TokenEntry = {
      hash: hashToken(token),
      node,
      ...endpointOf(target),
      readOnly: target.readOnly,
      ...(target.vncPassword ? { vncPassword: target.vncPassword } : {}),
      record: target.record,
      role: claims.role,
      ...(claims.user !== undefined ? { user: claims.user } : {}),
      exclusive: claims.exclusive,
      createdAt: created.toISOString(),
      expiresAt: expiresAt.toISOString(),
    };
    await this.store.update((s) => {
      const cutoff = created.getTime() - KEEP_AFTER_EXPIRY_MS;
      s.tokens = s.tokens.filter((t) => Date.parse(t.expiresAt) > cutoff);
      s.tokens.push(entry);
    });
    return { token, expiresAt };
  }

  async verify(node: string, token: string): Promise<VerifyResult> {
    const hash = hashToken(token);
    const { tokens } = await this.store.read();
    let found: TokenEntry | undefined;
    // Compare against every entry so the time taken does not depend on where (or whether) it matches.
    for (const t of tokens) if (sameHash(t.hash, hash) && !found) found = t;
    if (!found) return { ok: false, reason: 'unknown' };
    if (found.node !== node) return { ok: false, reason: 'wrong-node' };
    if (found.revokedAt) return { ok: false, reason: 'revoked' };
    const expiresAt = new Date(found.expiresAt);
    if (expiresAt.getTime() <= this.now().getTime()) return { ok: false, reason: 'expired' };
    const target: ConsoleTarget = {
      ...endpointOf(found),
      readOnly: found.readOnly,
      ...(found.vncPassword ? { vncPassword: found.vncPassword } : {}),
      record: found.record ?? false,
    };
    return { ok: true, node, target, claims: claimsOf(found), expiresAt };
  }

  async revoke(node: string): Promise<void> {
    const at = this.now().toISOString();
    await this.store.update((s) => {
      for (const t of s.tokens)
        if (t.node === node && !t.revokedAt) {
          t.revokedAt = at;
          delete t.vncPassword; // the console is gone; its password is no longer needed
          delete t.direct; // nor its BMC's credentials
        }
    });
  }
}
