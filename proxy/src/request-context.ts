import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { ProxyConfig } from './config.js';

/** Strips the IPv4-mapped IPv6 prefix so limits and trust lists compare plain addresses. */
function plainAddress(a: string | undefined): string {
  return (a ?? 'unknown').replace(/^::ffff:/, '');
}

function fromTrustedProxy(req: IncomingMessage, config: ProxyConfig): boolean {
  return config.trustedProxies.includes(plainAddress(req.socket.remoteAddress));
}

/** The client's address: the peer, or the last X-Forwarded-For hop when the peer is a trusted reverse proxy. */
export function sourceAddress(req: IncomingMessage, config: ProxyConfig): string {
  const peer = plainAddress(req.socket.remoteAddress);
  if (!fromTrustedProxy(req, config)) return peer;
  const xff = req.headers['x-forwarded-for'];
  const last = (Array.isArray(xff) ? xff.join(',') : (xff ?? ''))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .pop();
  return last ? plainAddress(last) : peer;
}

/** The scheme the browser used: TLS on our socket, or X-Forwarded-Proto from a trusted reverse proxy. */
export function requestScheme(req: IncomingMessage, config: ProxyConfig): 'http' | 'https' {
  if ((req.socket as TLSSocket).encrypted) return 'https';
  if (fromTrustedProxy(req, config)) {
    const proto = String(req.headers['x-forwarded-proto'] ?? '')
      .split(',')[0]
      ?.trim()
      .toLowerCase();
    if (proto === 'https' || proto === 'wss') return 'https';
  }
  return 'http';
}

export type OriginVerdict = { ok: true } | { ok: false; why: string };

/**
 * The Origin must equal one allowed full origin or the proxy's own (scheme + Host). Unlike Ironic, the scheme
 * and port count, not only the host name.
 */
export function checkOrigin(req: IncomingMessage, config: ProxyConfig): OriginVerdict {
  const origin = req.headers.origin;
  if (origin === undefined)
    return config.allowMissingOrigin ? { ok: true } : { ok: false, why: 'missing Origin header' };
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return { ok: false, why: 'malformed Origin header' };
  }
  if (parsed.origin === 'null') return { ok: false, why: 'opaque Origin' };
  const allowed = new Set(config.allowedOrigins.map((o) => new URL(o).origin));
  const host = req.headers.host;
  if (host) {
    try {
      allowed.add(new URL(`${requestScheme(req, config)}://${host}`).origin);
    } catch {
      /* a malformed Host simply adds nothing */
    }
  }
  return allowed.has(parsed.origin) ? { ok: true } : { ok: false, why: `Origin ${parsed.origin} is not allowed` };
}
