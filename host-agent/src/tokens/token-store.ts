import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ViewerRole } from '@bmc-console/common/contracts/agent-api';
import type { DirectTarget } from '@bmc-console/common/contracts/direct-target';

/**
 * What a token opens: the console's VNC endpoint and/or a direct console's BMC, how to talk to it, and whether the
 * proxy records it.
 */
export interface ConsoleTarget {
  host?: string;
  port?: number;
  direct?: DirectTarget;
  readOnly: boolean;
  vncPassword?: string;
  record: boolean;
}

/** Who a link is for and what it may do; the proxy enforces the role. */
export interface TokenClaims {
  role: ViewerRole;
  user?: string;
  exclusive: boolean;
}

/** The claims of a link without any: the URL Ironic gets from start, and every token stored before claims existed. */
export const CONTROL_LINK: TokenClaims = Object.freeze({ role: 'control', exclusive: false });

/** Claims as stored (fields may be missing in older state), with the defaults of a link without claims. */
export function claimsOf(stored: { role?: ViewerRole; user?: string; exclusive?: boolean }): TokenClaims {
  return {
    role: stored.role ?? CONTROL_LINK.role,
    ...(stored.user !== undefined ? { user: stored.user } : {}),
    exclusive: stored.exclusive ?? CONTROL_LINK.exclusive,
  };
}

type RejectReason = 'unknown' | 'expired' | 'revoked' | 'wrong-node';

export type VerifyResult =
  | { ok: true; node: string; target: ConsoleTarget; claims: TokenClaims; expiresAt: Date }
  | { ok: false; reason: RejectReason };

export interface IssuedToken {
  token: string;
  expiresAt: Date;
}

/** Issue on start and on every `url` call (several valid at once); verify for the proxy; revoke all on stop. */
export interface TokenStore {
  issue(node: string, target: ConsoleTarget, claims: TokenClaims): Promise<IssuedToken>;
  verify(node: string, token: string): Promise<VerifyResult>;
  revoke(node: string): Promise<void>;
}

/** 32 random bytes, base64url (43 characters), like Ironic's `secrets.token_urlsafe()`. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Constant-time comparison of two hex SHA-256 digests. */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === 32 && y.length === 32 && timingSafeEqual(x, y);
}

/** Ironic's console URL form, so existing clients (Horizon, Nova) keep working. */
export function consoleUrl(publicUrl: string, node: string, token: string): string {
  const path = encodeURIComponent(`websockify?node=${node}&token=${token}`);
  return `${publicUrl}${publicUrl.includes('?') ? '&' : '?'}path=${path}`;
}

/**
 * A per-console VNC password: 8 random printable characters (VNC authentication uses only 8 bytes). No '#':
 * x11vnc's -passwdfile takes a line starting with '#' for a comment and exits ("cannot read a valid line").
 */
export function newVncPassword(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789-_.+=!@%^*';
  const bytes = randomBytes(8);
  // 64 of 67 characters would bias slightly; rejection sampling keeps it uniform.
  let out = '';
  for (let i = 0; out.length < 8; i++) {
    const b = i < bytes.length ? bytes[i]! : randomBytes(1)[0]!;
    if (b < 256 - (256 % alphabet.length)) out += alphabet[b % alphabet.length];
  }
  return out;
}

/** The reachable part of a target (host and port, a direct BMC), without absent fields. */
export function endpointOf(t: {
  host?: string;
  port?: number;
  direct?: DirectTarget;
}): Pick<ConsoleTarget, 'host' | 'port' | 'direct'> {
  return {
    ...(t.host !== undefined && t.port !== undefined ? { host: t.host, port: t.port } : {}),
    ...(t.direct ? { direct: t.direct } : {}),
  };
}
