import { readFileSync } from 'node:fs';
import { DirectKvmError } from './errors.js';

/** TLS options for node:https and ws alike, so HTTPS and WSS check the BMC's certificate by the same rule. */
export interface BmcTlsOptions {
  rejectUnauthorized: boolean;
  ca?: Buffer;
}

/** verifyCa false: accept the BMC's certificate; a path: only that CA bundle; true: the system store. */
export function bmcTlsOptions(verifyCa: boolean | string): BmcTlsOptions {
  if (verifyCa === false) return { rejectUnauthorized: false };
  if (verifyCa === true) return { rejectUnauthorized: true };
  try {
    return { rejectUnauthorized: true, ca: readFileSync(verifyCa) };
  } catch (err) {
    throw new DirectKvmError('login', `verifyCa: cannot read the CA bundle ${verifyCa}: ${(err as Error).message}`);
  }
}
