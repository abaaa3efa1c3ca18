import type { BmcResponse } from './bmc-http.js';
import { DirectKvmError } from './errors.js';

/** Where the KVM websocket of a logged-in session is, and what it must carry. */
export interface KvmSocketSpec {
  url: string;
  protocols: string[];
  headers: Record<string, string>;
  /** iDRAC: the VCSID2 secret its binary preamble answers with. */
  idracSecret?: string;
}

/** A web session on the BMC: the KVM socket it opens, and the logout that ends it. */
export interface BmcSession {
  kvmSocket(): Promise<KvmSocketSpec>;
  logout(): Promise<void>;
}

/** The login step's error for a refused login: the status only, never what was sent. */
export function loginRefused(res: BmcResponse): DirectKvmError {
  if (res.status === 401 || res.status === 403)
    return new DirectKvmError(
      'login',
      `the BMC rejected the user name or password (HTTP ${res.status})`,
      'credentials',
    );
  return new DirectKvmError('login', `the BMC answered HTTP ${res.status}`);
}

/** ws(s):// URL of `path` on the BMC's address. */
export function wsUrlOn(address: string, path: string): string {
  const u = new URL(path, address);
  u.protocol = u.protocol === 'http:' ? 'ws:' : 'wss:';
  return u.toString();
}
