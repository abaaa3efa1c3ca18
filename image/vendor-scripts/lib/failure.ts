/**
 * Turns what goes wrong while opening a console (network errors, TLS errors, HTTP statuses, Redfish errors)
 * into a ConsoleFailure a person can act on. Every script maps through here so the wording stays the same.
 */
import { ConsoleFailure, type FailureKind } from '../../src/vendor-script.js';
import { scrubSecrets } from '@bmc-console/common/log';

const hints: Record<FailureKind, string> = {
  unreachable: "Check the BMC address in the node's driver_info and that the BMC network is reachable from the console host",
  tls: "The BMC's TLS certificate was not accepted: set verify_ca to the BMC's CA bundle, or to false to trust this BMC's certificate",
  auth: "Check the username and password in the node's driver_info (the account needs administrator / remote console rights)",
  'kvm-busy': 'Another user or a stale session holds the console: close it in the BMC web UI, or wait for it to time out',
  unsupported: 'This BMC or firmware does not offer an HTML5 console this way; update the firmware or enable the HTML5 console',
  'bmc-error': 'The BMC answered with an error: retry, and reset the BMC if it keeps failing',
  config: "Check the node's driver_info",
  internal: 'This is a bug in bmc-console: please report it with the log',
};

/** The hint every script shows for a kind unless it knows better. */
export function defaultHint(kind: FailureKind): string {
  return hints[kind];
}

export function failure(kind: FailureKind, cause: string, hint: string = hints[kind]): ConsoleFailure {
  return new ConsoleFailure(cause, hint, kind);
}

const tlsPattern = /ERR_CERT|ERR_SSL|certificate|self[- ]signed|SSL|TLS|UNABLE_TO_VERIFY|DEPTH_ZERO|ERR_TLS/i;
const unreachablePattern =
  /ERR_CONNECTION|ERR_NETWORK_CHANGED|ERR_NAME_NOT_RESOLVED|ERR_ADDRESS_UNREACHABLE|ERR_INTERNET_DISCONNECTED|ERR_TIMED_OUT|ERR_EMPTY_RESPONSE|ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|socket hang up|Timeout .*exceeded/i;

/** Maps an HTTP status of a BMC answer to a failure; `what` says which step ("iDRAC login"). */
export function httpFailure(status: number, what: string, detail = ''): ConsoleFailure {
  const tail = detail ? `: ${detail}` : '';
  if (status === 401 || status === 403) return failure('auth', `${what}: the BMC rejected the user name or password (HTTP ${status})${tail}`);
  if (status === 404 || status === 405 || status === 501)
    return failure('unsupported', `${what}: the BMC does not offer this (HTTP ${status})${tail}`);
  if (status === 409 || status === 429 || status === 503)
    return failure('kvm-busy', `${what}: the BMC is busy or has no free session (HTTP ${status})${tail}`);
  return failure('bmc-error', `${what}: the BMC answered HTTP ${status}${tail}`);
}

/** A RedfishError as thrown by image/src/redfish/client.ts, recognised structurally so this file has no hard dependency. */
interface RedfishErrorLike {
  name: string;
  kind: string;
  status?: number;
  message: string;
}

function isRedfishError(e: unknown): e is RedfishErrorLike {
  return e instanceof Error && e.name === 'RedfishError' && typeof (e as { kind?: unknown }).kind === 'string';
}

/**
 * Any error -> ConsoleFailure. ConsoleFailures and aborts pass through unchanged; secrets are scrubbed from the
 * text because browser and HTTP errors quote URLs and headers.
 */
export function toConsoleFailure(err: unknown, what: string, secrets: Iterable<string | undefined> = []): Error {
  if (err instanceof ConsoleFailure) return err;
  if (err instanceof Error && err.name === 'AbortError') return err;
  const raw = err instanceof Error ? err.message : String(err);
  const msg = scrubSecrets(firstLine(raw), secrets);
  if (isRedfishError(err)) {
    const kind = err.kind;
    if (kind === 'auth') return failure('auth', `${what}: the BMC rejected the user name or password`);
    if (kind === 'tls') return failure('tls', `${what}: TLS certificate not accepted (${msg})`);
    if (kind === 'unreachable' || kind === 'timeout' || kind === 'network')
      return failure('unreachable', `${what}: the BMC cannot be reached (${msg})`);
    if (kind === 'not-found' || kind === 'notfound' || kind === 'unsupported')
      return failure('unsupported', `${what}: the BMC does not offer this (${msg})`);
    if (typeof err.status === 'number') return httpFailure(err.status, what, msg);
    return failure('bmc-error', `${what}: ${msg}`);
  }
  if (tlsPattern.test(raw) && !/ERR_CONNECTION_REFUSED/.test(raw)) return failure('tls', `${what}: TLS certificate not accepted (${msg})`);
  if (unreachablePattern.test(raw)) return failure('unreachable', `${what}: the BMC cannot be reached (${msg})`);
  return failure('bmc-error', `${what}: ${msg}`);
}

function firstLine(s: string): string {
  const line = s.split('\n').find((l) => l.trim() !== '') ?? s;
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
