import type { DirectTarget } from '@bmc-console/common/contracts/direct-target';

/**
 * How the proxy reaches one console: an RFB port (a console container's x11vnc, or the agent's relay), or a BMC it
 * logs in to itself (a direct console). Both secrets (vncPassword, the BMC password in `target`) never leave the
 * proxy: not in logs, metric labels or close reasons.
 */
export type ConsoleEndpoint =
  | { kind: 'rfb'; host: string; port: number; vncPassword?: string }
  | { kind: 'direct'; target: DirectTarget };

/** The reachability fields of the agent's answers (verify and console target), as the contract parses them. */
interface EndpointFields {
  host?: string | undefined;
  port?: number | undefined;
  vncPassword?: string | undefined;
  direct?: DirectTarget | undefined;
}

/**
 * The endpoint an agent answer names. `direct` wins when the answer carries both (the agent's own RFB relay of a
 * direct console is for clients that cannot log in to the BMC; the proxy can). The contract guarantees one of them.
 */
export function endpointOf(answer: EndpointFields): ConsoleEndpoint {
  if (answer.direct !== undefined) return { kind: 'direct', target: answer.direct };
  if (answer.host === undefined || answer.port === undefined)
    throw new Error('console target has neither direct nor host and port');
  return {
    kind: 'rfb',
    host: answer.host,
    port: answer.port,
    ...(answer.vncPassword !== undefined ? { vncPassword: answer.vncPassword } : {}),
  };
}

/**
 * Whether a live session still points at the same console. A direct target with other credentials or trust is a
 * new console too: the proxy's BMC login for it is replaced, which ends the old one's KVM sockets.
 */
export function sameEndpoint(a: ConsoleEndpoint, b: ConsoleEndpoint): boolean {
  if (a.kind === 'rfb' && b.kind === 'rfb') return a.host === b.host && a.port === b.port;
  if (a.kind === 'direct' && b.kind === 'direct') return JSON.stringify(a.target) === JSON.stringify(b.target);
  return false;
}

/** What audit lines say about the endpoint: its mode and the BMC's host (never the user name or password). */
export function auditFieldsOf(e: ConsoleEndpoint): { mode: 'rfb' } | { mode: 'direct'; bmc: string; vendor: string } {
  return e.kind === 'rfb'
    ? { mode: 'rfb' }
    : { mode: 'direct', bmc: new URL(e.target.address).host, vendor: e.target.vendor };
}
