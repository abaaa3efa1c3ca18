import type { Ctx, WebUi } from '../context.js';
import {
  addSetCookie,
  cookie,
  escapeHtml,
  header,
  jsonBody,
  scriptJson,
  sendHtml,
  sendJson,
  type Req,
  type Res,
} from '../http.js';
import { kvmConfig, kvmScript, speaksRfb } from '../kvm.js';
import type { Session } from '../state.js';

/**
 * OpenBMC (bmcweb + webui-vue): Redfish login with X-Requested-With sets the XSRF-TOKEN and BMCWEB-SESSION cookies
 * (SESSION before 2025-01, feature "legacy-session-cookie"); the KVM socket /kvm/0 needs subprotocol == XSRF token.
 */
export function openbmcUi(ctx: Ctx): WebUi {
  const cookieName = () => (ctx.has('legacy-session-cookie') ? 'SESSION' : 'BMCWEB-SESSION');
  const session = (req: { cookies: Record<string, string> }) =>
    ctx.state.findByToken(req.cookies[cookieName()], ['redfish', 'web']);
  const setCookies = (res: Res, s: Session) => {
    addSetCookie(res, cookie('XSRF-TOKEN', s.csrf, { sameSite: 'Strict' }));
    addSetCookie(res, cookie(cookieName(), s.token, { sameSite: 'Strict', httpOnly: true }));
  };
  const spa = () => {
    const base = kvmConfig(ctx, { wsUrl: '/kvm/0', title: '' });
    return `<!doctype html><html><head><meta charset="utf-8"><title>OpenBMC</title>
<style>body{font-family:sans-serif;background:#f2f2f2;color:#222;margin:0} .view{margin:2em} .box{background:#fff;border:1px solid #bbb;padding:1.5em;max-width:420px}
#kvm-wrap{display:none;position:fixed;inset:0;background:#000} #kvm-wrap canvas{width:100vw;height:100vh;object-fit:contain;outline:none}</style></head>
<body data-kvm="idle">
<div id="login-view" class="view" style="display:none"><div class="box"><h2>OpenBMC</h2><p>${escapeHtml(ctx.node)}</p>
<form id="login-form" onsubmit="return false"><select id="language"><option value="en-US">English</option></select><br>
<input id="username" data-test-id="login-input-username" autocomplete="username"><br><input id="password" data-test-id="login-input-password" type="password"><br>
<button type="submit" data-test-id="login-button-submit">Log in</button></form><p id="login-message"></p></div></div>
<div id="overview-view" class="view" style="display:none"><div class="box"><h2>Overview: ${escapeHtml(ctx.node)}</h2>
<a href="#/operations/kvm" id="nav-kvm">KVM</a> | <a href="#" id="logout" data-test-id="appHeader-link-logout">Log out</a></div></div>
<div id="kvm-wrap"><canvas id="kvm-canvas" width="1024" height="768" tabindex="0"></canvas></div>
<script>${kvmScript()}</script>
<script>
const base = ${scriptJson(base)};
const consoleRoute = ${scriptJson(ctx.has('console-route'))};
const xsrf = () => (document.cookie.match(/(?:^|; )XSRF-TOKEN=([^;]+)/) || [])[1];
let started = false;
function show(id) { for (const v of ['login-view', 'overview-view']) document.getElementById(v).style.display = v === id ? 'block' : 'none'; }
function route() {
  const h = location.hash || '#/';
  if (h === '#/login') return show('login-view');
  if (!xsrf()) { location.hash = '#/login'; return; }
  if (h === '#/operations/kvm' || (consoleRoute && h === '#/console/kvm')) {
    show('');
    document.getElementById('kvm-wrap').style.display = 'block';
    // The route rides along on the socket URL (emulator only: bmcweb ignores it) so the state can name the launch path.
    if (!started) { started = true; window.__kvmStart(Object.assign({}, base, { wsUrl: base.wsUrl + '?route=' + (h === '#/console/kvm' ? 'console' : 'operations'), protocols: [xsrf()] })); }
    return;
  }
  if (h !== '#/') { location.hash = '#/'; return; }
  show('overview-view');
}
window.addEventListener('hashchange', route);
document.getElementById('login-form').addEventListener('submit', async () => {
  const r = await fetch('/redfish/v1/SessionService/Sessions', { method: 'POST', credentials: 'include',
    headers: { 'content-type': 'application/json', 'X-Requested-With': 'XMLHttpRequest' },
    body: JSON.stringify({ UserName: document.getElementById('username').value, Password: document.getElementById('password').value }) });
  if (r.status !== 201) { document.getElementById('login-message').textContent = 'Invalid username or password.'; return; }
  localStorage.setItem('sessionURI', r.headers.get('Location'));
  location.hash = '#/';
});
document.getElementById('logout').onclick = async (e) => {
  e.preventDefault();
  await fetch(localStorage.getItem('sessionURI'), { method: 'DELETE', headers: { 'X-XSRF-TOKEN': xsrf() } });
  document.cookie = 'XSRF-TOKEN=; Max-Age=0; Path=/';
  location.hash = '#/login';
};
route();
</script></body></html>`;
  };

  return {
    handle(req, res) {
      const p = req.path;
      if ((p === '/' || p === '/index.html') && req.method === 'GET') return (sendHtml(res, 200, spa()), true);
      if (p === '/login' && req.method === 'POST') {
        const b = jsonBody(req) as Record<string, unknown> | undefined;
        if (!b || typeof b.username !== 'string' || typeof b.password !== 'string')
          return (sendJson(res, 400, { status: 'error', message: 'Body must be {"username","password"}.' }), true);
        if (!ctx.checkLogin(b.username, b.password))
          return (sendJson(res, 401, { status: 'error', message: '401 Unauthorized' }), true);
        const s = ctx.state.createSession('web', b.username);
        setCookies(res, s);
        return (sendJson(res, 200, { token: s.token }), true);
      }
      if (p === '/logout' && req.method === 'POST') {
        const s = session(req);
        if (s) ctx.state.endSession(s, 'POST /logout');
        addSetCookie(res, cookie(cookieName(), '', { maxAge: 0 }));
        addSetCookie(res, cookie('XSRF-TOKEN', '', { maxAge: 0 }));
        return (sendJson(res, 200, { status: 'ok', message: '200 OK' }), true);
      }
      return false;
    },
    kvmUpgrade(u) {
      if (u.path !== '/kvm/0') return undefined;
      const s = session(u);
      if (!s) return { accept: false, status: 401, message: 'Unauthorized' };
      // Cookie-authenticated sockets must offer the CSRF token as the subprotocol.
      if (u.protocols[0] !== s.csrf) return { accept: false, status: 401, message: 'Unauthorized' };
      const launch = u.url.searchParams.get('route') === 'console' ? 'console-route' : 'operations-route';
      // obmc-ikvm's raw RFB behind bmcweb, unless the emulator's own page asks for its JSON protocol.
      return speaksRfb(
        {
          accept: true,
          protocol: s.csrf,
          vendorPath: '/kvm/0',
          overCap: 'busy',
          busyMessage: 'Max sessions are already connected',
          launch: () => launch,
        },
        u,
        'obmc',
      );
    },
    onRedfishSession(req: Req, res: Res, s: Session) {
      if (!header(req, 'x-requested-with')) return false;
      setCookies(res, s);
      return true;
    },
    redfishCookieAuth(req: Req) {
      const s = session(req);
      if (!s) return undefined;
      if (req.method !== 'GET' && req.method !== 'HEAD' && header(req, 'x-xsrf-token') !== s.csrf) return 'csrf';
      return s;
    },
  };
}
