/** Why a Redfish call failed, coarse enough for exit codes and status pages. */
export type RedfishErrorKind =
  /** No answer: connection refused, DNS failure, reset, timeout. */
  | 'unreachable'
  /** TLS handshake failed: untrusted or mismatched certificate, unreadable CA bundle, not TLS at all. */
  | 'tls'
  /** The BMC rejected the credentials (401) or the account may not do this (403). */
  | 'auth'
  /** Any other non-success HTTP status (404, 500, ...). */
  | 'http'
  /** An answer that is not Redfish: HTML or junk where JSON belongs, a redirect to another host, no session token. */
  | 'protocol';

/**
 * A failed Redfish call. `url` never holds credentials and `message` never holds the password or a session token
 * (the client scrubs both), so the error can be logged and shown as it is.
 */
export class RedfishError extends Error {
  constructor(
    readonly kind: RedfishErrorKind,
    /** The URL that failed, without user info. */
    readonly url: string,
    /** One line: what happened ("connection refused", "HTTP 500: Internal error"). */
    readonly detail: string,
    options: { status?: number; cause?: unknown } = {},
  ) {
    super(`${kind}: ${url}: ${detail}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RedfishError';
    this.status = options.status;
  }

  /** HTTP status when the BMC answered (kinds auth, http, protocol); undefined otherwise. */
  readonly status: number | undefined;
}

export function isRedfishError(err: unknown, kind?: RedfishErrorKind): err is RedfishError {
  return err instanceof RedfishError && (kind === undefined || err.kind === kind);
}

/** True for "this resource does not exist here" (404/410, or a file missing from a capture). */
export function isNotFound(err: unknown): err is RedfishError {
  return err instanceof RedfishError && err.kind === 'http' && (err.status === 404 || err.status === 410);
}
