/**
 * The one mapping from what goes wrong while opening a console (Redfish errors, browser network and TLS errors,
 * HTTP statuses) to a ConsoleFailure a person can act on. Vendor scripts, `bmc-console try` and the supervisor's
 * Redfish app all map through here, so a kind of failure reads the same wherever it is shown.
 */
import { scrubSecrets } from '@bmc-console/common/log';
import { RedfishError } from '@bmc-console/common/redfish/error';
import { ConsoleFailure, type FailureKind } from './vendor-script.js';

const hints: Record<FailureKind, string> = {
  unreachable:
    "Check the BMC address in the node's driver_info and that the BMC network is reachable from the console host",
  tls: "The BMC's TLS certificate was not accepted: set verify_ca to the BMC's CA bundle, or to false to trust this BMC's certificate",
  auth: "Check the username and password in the node's driver_info (the account needs administrator / remote console rights)",
  'kvm-busy':
    'Another user or a stale session holds the console: close it in the BMC web UI, or wait for it to time out',
  unsupported:
    'This BMC or firmware does not offer an HTML5 console this way; update the firmware or enable the HTML5 console',
  'bmc-error': 'The BMC answered with an error: retry, and reset the BMC if it keeps failing',
  config: "Check the node's driver_info",
  internal: 'This is a bug in bmc-console: please report it with the log',
};

/** The hint shown for a kind unless the code that fails knows better. */
export function defaultHint(kind: FailureKind): string {
  return hints[kind];
}

export function failure(kind: FailureKind, cause: string, hint: string = hints[kind]): ConsoleFailure {
  return new ConsoleFailure(cause, hint, kind);
}

/** The one wording of each kind; `what` names the step that failed ("Redfish discovery", "iDRAC login"). */
const say = {
  auth: (what: string) => failure('auth', `${what}: the BMC rejected the user name or password`),
  tls: (what: string, msg: string) => failure('tls', `${what}: the BMC's TLS certificate was not accepted (${msg})`),
  unreachable: (what: string, msg: string) => failure('unreachable', `${what}: the BMC cannot be reached (${msg})`),
  other: (what: string, msg: string) => failure('bmc-error', `${what}: ${msg}`),
};

const tlsPattern = /ERR_CERT|ERR_SSL|certificate|self[- ]signed|SSL|TLS|UNABLE_TO_VERIFY|DEPTH_ZERO|ERR_TLS/i;
const unreachablePattern =
  /ERR_CONNECTION|ERR_NETWORK_CHANGED|ERR_NAME_NOT_RESOLVED|ERR_ADDRESS_UNREACHABLE|ERR_INTERNET_DISCONNECTED|ERR_TIMED_OUT|ERR_EMPTY_RESPONSE|ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|socket hang up|Timeout .*exceeded/i;

/** Maps an HTTP status of a BMC answer to a failure; `what` says which step ("iDRAC login"). */
export function httpFailure(status: number, what: string, detail = ''): ConsoleFailure {
  const tail = detail ? `: ${detail}` : '';
  if (status === 401 || status === 403)
    return failure('auth', `${what}: the BMC rejected the user name or password (HTTP ${status})${tail}`);
  if (status === 404 || status === 405 || status === 501)
    return failure('unsupported', `${what}: the BMC does not offer this (HTTP ${status})${tail}`);
  if (status === 409 || status === 429 || status === 503)
    return failure('kvm-busy', `${what}: the BMC is busy or has no free session (HTTP ${status})${tail}`);
  return failure('bmc-error', `${what}: the BMC answered HTTP ${status}${tail}`);
}

/**
 * Any error -> ConsoleFailure; a ConsoleFailure passes through unchanged. Secrets are scrubbed from the text
 * because browser and HTTP errors quote URLs and headers.
 */
export function asConsoleFailure(
  err: unknown,
  what: string,
  secrets: Iterable<string | undefined> = [],
): ConsoleFailure {
  if (err instanceof ConsoleFailure) return err;
  const raw = err instanceof Error ? err.message : String(err);
  const msg = scrubSecrets(firstLine(raw), secrets);
  if (err instanceof RedfishError) {
    const detail = scrubSecrets(firstLine(err.detail), secrets);
    if (err.kind === 'auth') return say.auth(what);
    if (err.kind === 'tls') return say.tls(what, detail);
    if (err.kind === 'unreachable') return say.unreachable(what, detail);
    if (err.status !== undefined) return httpFailure(err.status, what, detail);
    return say.other(what, detail);
  }
  if (tlsPattern.test(raw) && !/ERR_CONNECTION_REFUSED/.test(raw)) return say.tls(what, msg);
  if (unreachablePattern.test(raw)) return say.unreachable(what, msg);
  return say.other(what, msg);
}

/** asConsoleFailure for code that is being aborted: an AbortError passes through, so the abort stays recognisable. */
export function toConsoleFailure(err: unknown, what: string, secrets: Iterable<string | undefined> = []): Error {
  if (err instanceof Error && err.name === 'AbortError') return err;
  return asConsoleFailure(err, what, secrets);
}

function firstLine(s: string): string {
  const line = s.split('\n').find((l) => l.trim() !== '') ?? s;
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
