import { bmcRequest, jsonOf, type BmcResponse } from './bmc-http.js';
import { loginRefused, wsUrlOn, type BmcSession } from './bmc-login.js';
import { DirectKvmError } from './errors.js';
import type { DirectTarget } from '../contracts/direct-target.js';
import type { BmcTlsOptions } from './tls-options.js';

// bmcweb renamed SESSION to BMCWEB-SESSION in 2025; older builds (and XCC3) still set SESSION.
const SESSION_COOKIES = ['BMCWEB-SESSION', 'SESSION'] as const;

interface CookieSession {
  cookie: string;
  xsrf: string;
}

/** The session and XSRF cookies of a login answer, or undefined when the BMC did not set both. */
function cookieSession(res: BmcResponse): CookieSession | undefined {
  const xsrf = res.cookies['XSRF-TOKEN'];
  const name = SESSION_COOKIES.find((n) => res.cookies[n]);
  if (!xsrf || !name) return undefined;
  return { cookie: `${name}=${res.cookies[name]}; XSRF-TOKEN=${xsrf}`, xsrf };
}

/**
 * OpenBMC (bmcweb) and Lenovo XCC3: a cookie session (Redfish for OpenBMC, POST /login for XCC3); the KVM is
 * /kvm/0 with the cookie and the XSRF token as subprotocol, plain RFB 3.8 behind it.
 */
export async function loginBmcweb(target: DirectTarget, tls: BmcTlsOptions, timeoutMs: number): Promise<BmcSession> {
  const call = (req: Parameters<typeof bmcRequest>[3]) => bmcRequest(target.address, tls, timeoutMs, req);
  const creds = { u: target.username, p: target.password };
  let res: BmcResponse;
  let logoutPath: string;
  if (target.vendor === 'xcc3') {
    res = await call({ method: 'POST', path: '/login', json: { data: [creds.u, creds.p] } });
    // Builds that do not take the confluent form take {"username","password"}.
    if (res.status === 400)
      res = await call({ method: 'POST', path: '/login', json: { username: creds.u, password: creds.p } });
    logoutPath = '/logout';
  } else {
    res = await call({
      method: 'POST',
      path: '/redfish/v1/SessionService/Sessions',
      headers: { 'X-Requested-With': 'XMLHttpRequest' },
      json: { UserName: creds.u, Password: creds.p },
    });
    const odataId = (jsonOf(res) as { '@odata.id'?: unknown } | undefined)?.['@odata.id'];
    const loc = res.headers.location ?? (typeof odataId === 'string' ? odataId : '');
    // Only the path: the session cookie must never follow a Location to another host.
    logoutPath = loc ? new URL(loc, target.address).pathname : '';
  }
  if (res.status < 200 || res.status > 299) throw loginRefused(res);
  const s = cookieSession(res);
  if (!s) {
    // A token-only session cannot open the socket (it needs the XSRF value); end it rather than leak it.
    const token = res.headers['x-auth-token'];
    if (typeof token === 'string' && logoutPath)
      await call({ method: 'DELETE', path: logoutPath, headers: { 'X-Auth-Token': token } }).catch(() => undefined);
    throw new DirectKvmError(
      'login',
      'the BMC answered without the session and XSRF-TOKEN cookies the KVM socket needs (X-Auth-Token form only)',
    );
  }
  return {
    kvmSocket: async () => ({
      url: wsUrlOn(target.address, '/kvm/0'),
      protocols: [s.xsrf],
      headers: { cookie: s.cookie },
    }),
    logout: async () => {
      if (!logoutPath) throw new DirectKvmError('logout', 'the BMC gave no session URI to log out of');
      const headers = { cookie: s.cookie, 'X-XSRF-TOKEN': s.xsrf };
      const r =
        target.vendor === 'xcc3'
          ? await call({ method: 'POST', path: logoutPath, headers })
          : await call({ method: 'DELETE', path: logoutPath, headers });
      // 404: the session is gone already (expired), which is what logging out wants.
      if ((r.status < 200 || r.status > 299) && r.status !== 404)
        throw new DirectKvmError('logout', `the BMC answered HTTP ${r.status}`);
    },
  };
}
