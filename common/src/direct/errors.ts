/** The step of a direct KVM session that failed; every message starts with it. */
export type DirectStep = 'login' | 'console' | 'kvm' | 'rfb' | 'logout';

/**
 * What went wrong, as a viewer is told: the BMC refused the user name or password (or the account is locked), it
 * has no free console or web session, it cannot be reached, its certificate failed the node's trust rule, or
 * anything else (a dialect we do not understand, a socket the BMC dropped).
 */
export type DirectFailure = 'credentials' | 'busy' | 'unreachable' | 'certificate' | 'other';

const UNREACHABLE = /ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|no answer within/;
const CERTIFICATE = /certificate|self[- ]signed|CERT_|unable to verify|Hostname\/IP does not match/i;

/**
 * A failure of one step, readable by an operator. Callers build the detail from status codes and the BMC's
 * console refusal text only, never from request headers or bodies, so no password, cookie or token gets in.
 */
export class DirectKvmError extends Error {
  readonly failure: DirectFailure;

  constructor(
    readonly step: DirectStep,
    detail: string,
    failure?: DirectFailure,
  ) {
    super(`${step}: ${detail}`);
    this.name = 'DirectKvmError';
    this.failure =
      failure ?? (CERTIFICATE.test(detail) ? 'certificate' : UNREACHABLE.test(detail) ? 'unreachable' : 'other');
  }
}

/** Wraps anything thrown inside `step` into a DirectKvmError naming it (an existing one keeps its own step). */
export function inStep(step: DirectStep, err: unknown): DirectKvmError {
  if (err instanceof DirectKvmError) return err;
  return new DirectKvmError(step, err instanceof Error ? err.message : String(err));
}
