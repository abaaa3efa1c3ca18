/** The step of a direct KVM session that failed; every message starts with it. */
export type DirectStep = 'login' | 'console' | 'kvm' | 'rfb' | 'logout';

/**
 * A failure of one step, readable by an operator. Callers build the detail from status codes and the BMC's
 * console refusal text only, never from request headers or bodies, so no password, cookie or token gets in.
 */
export class DirectKvmError extends Error {
  constructor(
    readonly step: DirectStep,
    detail: string,
  ) {
    super(`${step}: ${detail}`);
    this.name = 'DirectKvmError';
  }
}

/** Wraps anything thrown inside `step` into a DirectKvmError naming it (an existing one keeps its own step). */
export function inStep(step: DirectStep, err: unknown): DirectKvmError {
  if (err instanceof DirectKvmError) return err;
  return new DirectKvmError(step, err instanceof Error ? err.message : String(err));
}
