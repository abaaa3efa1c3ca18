/** Every failure of the RFB module: protocol violations, short reads, timeouts, refused authentication. */
export class RfbError extends Error {
  constructor(
    message: string,
    /** Machine-readable kind, so callers (the proxy, readiness checks) can count and map failures. */
    readonly code: RfbErrorCode = 'protocol',
  ) {
    super(message);
    this.name = 'RfbError';
  }
}

export type RfbErrorCode = 'protocol' | 'closed' | 'timeout' | 'auth' | 'unsupported' | 'connect';

export function asRfbError(err: unknown, code: RfbErrorCode = 'protocol'): RfbError {
  if (err instanceof RfbError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new RfbError(message, code);
}
