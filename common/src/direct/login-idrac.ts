import { bmcRequest, jsonOf } from './bmc-http.js';
import { loginRefused, wsUrlOn, type BmcSession } from './bmc-login.js';
import { DirectKvmError } from './errors.js';
import type { DirectTarget } from '../contracts/direct-target.js';
import type { BmcTlsOptions } from './tls-options.js';

const SESSION_PATH = '/sysmgmt/2015/bmc/session';
const COOKIE = '-http-session-';

// iDRAC's authResult codes the restgui names (others are shown as numbers).
const AUTH_RESULTS: Record<number, string> = {
  1: 'the BMC rejected the user name or password',
  5: 'the BMC has no free web session (too many logged in)',
  8: 'the account is locked',
};

/**
 * Dell iDRAC9: sysmgmt session (credentials in quoted headers), then the vconsole launch URL's one-shot VCSID pair;
 * the socket /vnc/vconsole?vck=VCSID takes the VCSID2 secret in a binary preamble before RFB.
 */
export async function loginIdrac(target: DirectTarget, tls: BmcTlsOptions, timeoutMs: number): Promise<BmcSession> {
  const call = (req: Parameters<typeof bmcRequest>[3]) => bmcRequest(target.address, tls, timeoutMs, req);
  const res = await call({
    method: 'POST',
    path: SESSION_PATH,
    headers: { user: `"${target.username}"`, password: `"${target.password}"` },
  });
  const authResult = (jsonOf(res) as { authResult?: unknown } | undefined)?.authResult;
  if (typeof authResult === 'number' && authResult !== 0) {
    const why = AUTH_RESULTS[authResult] ?? 'the BMC refused the login';
    const failure = authResult === 5 ? 'busy' : authResult === 1 || authResult === 8 ? 'credentials' : 'other';
    throw new DirectKvmError('login', `${why} (authResult ${authResult}, HTTP ${res.status})`, failure);
  }
  if (res.status < 200 || res.status > 299) throw loginRefused(res);
  const session = res.cookies[COOKIE];
  const xsrf = res.headers['xsrf-token'];
  if (!session || typeof xsrf !== 'string')
    throw new DirectKvmError('login', `the BMC answered without the ${COOKIE} cookie or the XSRF-TOKEN header`);
  const headers = { cookie: `${COOKIE}=${session}`, 'XSRF-TOKEN': xsrf };
  return {
    kvmSocket: async () => {
      const v = await call({ method: 'GET', path: '/sysmgmt/2015/server/vconsole', headers });
      if (v.status < 200 || v.status > 299)
        throw new DirectKvmError('kvm', `vconsole launch answered HTTP ${v.status}`);
      const location = (jsonOf(v) as { Location?: unknown } | undefined)?.Location;
      if (typeof location !== 'string' || location === '')
        throw new DirectKvmError('kvm', 'console disabled or not licensed');
      const q = new URL(location, target.address).searchParams;
      const vcsid = q.get('VCSID');
      const vcsid2 = q.get('VCSID2');
      if (!vcsid || !vcsid2) throw new DirectKvmError('kvm', 'the vconsole launch URL carries no VCSID pair');
      return {
        url: wsUrlOn(target.address, `/vnc/vconsole?vck=${encodeURIComponent(vcsid)}`),
        protocols: ['binary'],
        headers: { cookie: headers.cookie },
        idracSecret: vcsid2,
      };
    },
    logout: async () => {
      const r = await call({ method: 'DELETE', path: SESSION_PATH, headers });
      if ((r.status < 200 || r.status > 299) && r.status !== 401)
        throw new DirectKvmError('logout', `the BMC answered HTTP ${r.status}`);
    },
  };
}
