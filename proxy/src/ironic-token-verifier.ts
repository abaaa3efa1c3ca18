import { createHash, timingSafeEqual } from 'node:crypto';
import type { AgentConsoleTarget, ConsoleTargetSource } from './agent-target.js';
import type { IronicConsoleState } from './ironic-client.js';
import { AgentUnavailableError, type TokenVerifier, type VerifyResult } from './token-verifier.js';

/**
 * Ironic or the agent could not be asked or answered outside its contract. A subclass of the agent's error because
 * the proxy treats it the same way: 503 to a new viewer, live sessions kept until a check gets an answer again.
 */
export class TokenServiceUnavailableError extends AgentUnavailableError {
  override name = 'TokenServiceUnavailableError';
}

/** The part of IronicClient the verifier needs (a test may put a stand-in here). */
export interface IronicConsoleSource {
  consoleState(node: string): Promise<IronicConsoleState>;
  close(): void;
}

export interface IronicVerifierOptions {
  /** Ironic's [vnc]token_timeout, seconds. */
  tokenTimeoutSec: number;
  /** Clock (tests). */
  now?: () => number;
}

/** Ironic's tokens are secrets.token_urlsafe() (43 characters); anything much shorter (e.g. "None") is no token. */
const MIN_IRONIC_TOKEN_LENGTH = 16;
/** How many tokens' first sighting the verifier remembers (the oldest are forgotten first). */
const MAX_REMEMBERED = 10_000;

/** The node and token in one of Ironic's console URLs: `<public_url>?path=websockify%3Fnode%3D<uuid>%26token%3D<token>`. */
export function tokenOfConsoleUrl(url: string): { node: string; token: string } | undefined {
  let path: string | null;
  try {
    path = new URL(url, 'http://ironic.invalid').searchParams.get('path');
  } catch {
    return undefined;
  }
  const q = path?.indexOf('?') ?? -1;
  if (!path || q < 0) return undefined;
  const params = new URLSearchParams(path.slice(q + 1));
  const node = params.get('node');
  const token = params.get('token');
  if (!node || !token || token.length < MIN_IRONIC_TOKEN_LENGTH) return undefined;
  return { node, token };
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Constant time: both sides are hashed to equal-length digests first, so neither length nor content leaks. */
export function sameToken(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * Checks a viewer's (node, token) against Ironic's own console token (`GET /v1/nodes/{node}/states/console`: the
 * console must be enabled and its URL must carry this token), then asks our agent where that console answers.
 *
 * Expiry: Ironic's API masks `novnc_secret_token_created` (its key contains "token", and only `show_password`, which
 * also reveals every BMC password, unmasks it), so the proxy bounds a token's life from the first time it saw it:
 * first sighting + token_timeout, never earlier than Ironic's own limit. Ironic's periodic task stops an expired
 * console and clears its token, and `console disable` does the same; the proxy's re-check of every live session
 * then closes it.
 */
export class IronicTokenVerifier implements TokenVerifier {
  private readonly inFlight = new Map<string, Promise<VerifyResult>>();
  /** node + token digest -> when the proxy first saw Ironic hand out that token (ms). */
  private readonly firstSeen = new Map<string, number>();
  private readonly now: () => number;

  constructor(
    private readonly ironic: IronicConsoleSource,
    private readonly targets: ConsoleTargetSource,
    private readonly opts: IronicVerifierOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  verify(node: string, token: string): Promise<VerifyResult> {
    // Viewers opening at once with the same token share one round trip.
    const key = `${node}\n${token}`;
    let p = this.inFlight.get(key);
    if (!p) {
      p = this.check(node, token).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, p);
    }
    return p;
  }

  close(): void {
    this.ironic.close();
    this.targets.close();
  }

  private async check(node: string, token: string): Promise<VerifyResult> {
    const state = await this.ask(() => this.ironic.consoleState(node));
    if (!state.found) return { ok: false, reason: 'unknown' };
    // Ironic clears the token when the console stops (disable, expiry task): like our agent revoking it.
    if (!state.consoleEnabled) return { ok: false, reason: 'revoked' };
    const issued = state.url !== undefined ? tokenOfConsoleUrl(state.url) : undefined;
    if (!issued || !sameToken(issued.token, token)) return { ok: false, reason: 'unknown' };
    if (issued.node !== node) return { ok: false, reason: 'wrong-node' };
    const expiresAt = this.expiryOf(node, token);
    if (expiresAt <= this.now()) return { ok: false, reason: 'expired' };
    const target: AgentConsoleTarget | undefined = await this.ask(() => this.targets.target(node));
    // Ironic says enabled but our agent has no running console (died, or started by another provider).
    if (!target) return { ok: false, reason: 'revoked' };
    return {
      ok: true,
      // Ironic's link names nobody and asks for nothing: a control viewer among equals.
      target: {
        ...target,
        role: 'control',
        user: null,
        exclusive: false,
        expiresAt: new Date(expiresAt),
      },
    };
  }

  private expiryOf(node: string, token: string): number {
    const key = `${node}\n${digest(token).toString('hex')}`;
    let seen = this.firstSeen.get(key);
    if (seen === undefined) {
      seen = this.now();
      this.firstSeen.set(key, seen);
      // Maps iterate in insertion order, so the first keys are the oldest sightings.
      for (const k of this.firstSeen.keys()) {
        if (this.firstSeen.size <= MAX_REMEMBERED) break;
        this.firstSeen.delete(k);
      }
    }
    return seen + this.opts.tokenTimeoutSec * 1000;
  }

  private async ask<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new TokenServiceUnavailableError((err as Error).message);
    }
  }
}
