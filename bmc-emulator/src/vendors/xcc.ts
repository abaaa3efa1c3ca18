import type { Ctx, WebUi } from '../context.js';
import {
  addSetCookie,
  basicAuth,
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
import { hexToken, type Session } from '../state.js';
import { cookieSession, webSessionsFull } from './common.js';

/**
 * Lenovo XCC/XCC2 web UI: an Angular-like single page with hash routes (#/login, #/home, #/remoteControl and the
 * console-token route #/login?<Token>&context=remote&mode=multi), the /api/login XHR and a viewer whose socket is
 * on a second TLS port (real XCC: 3900). XCC3 also speaks the OpenBMC dialect confluent uses (POST /login with
 * {"data":[u,p]} or {"username","password"}, cookies SESSION + XSRF-TOKEN, /kvm/0 on 443 with the XSRF token as
 * subprotocol): its login form goes that way (emulator choice: XCC3's web UI is not public).
 */
export function xccUi(ctx: Ctx): WebUi {
  const xcc3 = ctx.profile.generation === '3';
  const obmcSession = (req: { cookies: Record<string, string> }) => cookieSession(ctx, req, 'SESSION');
  const bearer = (req: Req) => {
    const h = header(req, 'authorization');
    if (h && /^bearer /i.test(h)) return ctx.state.findByToken(h.slice(7).trim(), ['web']);
    const b = basicAuth(req);
    return b !== undefined && ctx.checkLogin(b.user, b.password);
  };
  const spa = () => {
    const base = kvmConfig(ctx, { wsUrl: '', title: '' });
    return `<!doctype html><html><head><meta charset="utf-8"><title>XClarity Controller</title>
<style>body{font-family:sans-serif;background:#f2f2f2;color:#222;margin:0} .view{margin:2em} .box{background:#fff;border:1px solid #bbb;padding:1.5em;max-width:420px}
#kvm-wrap{display:none;position:fixed;inset:0;background:#000} #kvm-wrap canvas{width:100vw;height:100vh;object-fit:contain;outline:none}</style></head>
<body data-kvm="idle">
<div id="login-view" class="view" style="display:none"><div class="box"><h2>Lenovo XClarity Controller</h2><p>${escapeHtml(ctx.node)}</p>
<form id="login-form" onsubmit="return false"><input id="user" placeholder="User name" autocomplete="username"><br><input id="password" type="password" placeholder="Password"><br>
<button id="login-button" type="submit">Log In</button></form><p id="login-message"></p></div></div>
<div id="home-view" class="view" style="display:none"><div class="box"><h2>${escapeHtml(ctx.node)}</h2>
<button id="launch-remote-console">Launch Remote Console</button> <a href="#" id="logout">Log Out</a></div></div>
<div id="kvm-wrap"><canvas id="kvm-canvas" width="1024" height="768" tabindex="0"></canvas></div>
<script>${kvmScript()}</script>
<script>
const base = ${scriptJson(base)};
const rpPort = ${scriptJson(ctx.rpPort())};
const xcc3 = ${scriptJson(xcc3)};
const xsrf = () => (document.cookie.match(/(?:^|; )XSRF-TOKEN=([^;]+)/) || [])[1];
function show(id) { for (const v of ['login-view', 'home-view']) document.getElementById(v).style.display = v === id ? 'block' : 'none'; }
function startConsole(auth) {
  show('');
  document.getElementById('kvm-wrap').style.display = 'block';
  if (!auth) return window.__kvmStart(Object.assign({}, base, { wsUrl: '/kvm/0', protocols: [xsrf()] }));
  window.__kvmStart(Object.assign({}, base, { wsUrl: 'wss://' + location.hostname + ':' + rpPort + '/', authMessage: auth }));
}
function route() {
  const h = location.hash;
  const m = /^#\\/login\\?([^&]+)&(.*)$/.exec(h);
  if (m && /(^|&)context=remote(&|$)/.test(m[2])) return startConsole({ type: 'auth', token: m[1], mode: (/mode=(\\w+)/.exec(m[2]) || [])[1] || 'single' });
  const token = sessionStorage.getItem('access_token') || (xcc3 && xsrf() ? 'cookie' : null);
  if (token && h === '#/remoteControl') return startConsole(token === 'cookie' ? null : { type: 'auth', bearer: token });
  if (token && h === '#/home') return show('home-view');
  if (h !== '#/login') { location.hash = token ? '#/home' : '#/login'; return; }
  show('login-view');
}
window.addEventListener('hashchange', route);
document.getElementById('login-form').addEventListener('submit', async () => {
  const r = await fetch(xcc3 ? '/login' : '/api/login', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: document.getElementById('user').value, password: document.getElementById('password').value }) });
  if (xcc3) {
    if (!r.ok) { document.getElementById('login-message').textContent = 'Login failed.'; return; }
    location.hash = '#/home';
    return;
  }
  const j = await r.json().catch(() => ({}));
  if (!r.ok || !j.access_token) { document.getElementById('login-message').textContent = 'Login failed.'; return; }
  sessionStorage.setItem('access_token', j.access_token);
  location.hash = '#/home';
});
document.getElementById('launch-remote-console').onclick = () => { location.hash = '#/remoteControl'; };
document.getElementById('logout').onclick = async (e) => {
  e.preventDefault();
  if (xcc3 && !sessionStorage.getItem('access_token')) { await fetch('/logout', { method: 'POST', headers: { 'X-XSRF-TOKEN': xsrf() || '' } }); location.hash = '#/login'; return; }
  const csrf = (document.cookie.match(/_csrf_token=([^;]+)/) || [])[1] || '';
  await fetch('/api/providers/logout', { method: 'POST', headers: { authorization: 'Bearer ' + sessionStorage.getItem('access_token'), 'X-XSRF-TOKEN': csrf } });
  sessionStorage.removeItem('access_token');
  location.hash = '#/login';
};
route();
</script></body></html>`;
  };

  return {
    handle(req, res) {
      const p = req.path;
      if ((p === '/' || p === '/index.html') && req.method === 'GET') return (sendHtml(res, 200, spa()), true);
      if (p === '/api/providers/get_nonce' && req.method === 'POST')
        return (sendJson(res, 200, { nonce: hexToken(16) }), true);
      if (p === '/api/providers/logoninfo' && req.method === 'GET') {
        return (
          sendJson(res, 200, {
            items: [
              {
                machine_name: ctx.node,
                machine_type: String(ctx.profile.system.Model ?? ''),
                product_name: ctx.profile.manager.Model,
              },
            ],
          }),
          true
        );
      }
      if (p === '/api/login' && req.method === 'POST') {
        const b = jsonBody(req) as Record<string, unknown> | undefined;
        if (!ctx.checkLogin(b?.username, b?.password))
          return (sendJson(res, 401, { error: 'Login failed: invalid user name or password.', locktime: 0 }), true);
        if (webSessionsFull(ctx))
          return (
            sendJson(res, 401, { error: 'Login failed: the maximum number of sessions is reached.', locktime: 0 }), true
          );
        const s = ctx.state.createSession('web', String(b?.username));
        res.setHeader('set-cookie', `_csrf_token=${s.csrf}; Path=/; Secure; SameSite=Strict`);
        return (
          sendJson(res, 200, { access_token: s.token, token_type: 'Bearer', pwchg_required: 'false', locktime: 0 }),
          true
        );
      }
      if (p === '/api/providers/rp_port' && req.method === 'GET') {
        if (!bearer(req)) return (sendJson(res, 401, { error: 'Unauthorized' }), true);
        return (sendJson(res, 200, { port: ctx.rpPort() }), true);
      }
      if (xcc3 && p === '/login' && req.method === 'POST') return (obmcLogin(req, res), true);
      if (xcc3 && p === '/logout' && req.method === 'POST') {
        const s = obmcSession(req);
        if (!s || header(req, 'x-xsrf-token') !== s.csrf)
          return (sendJson(res, 401, { status: 'error', message: '401 Unauthorized' }), true);
        ctx.state.endSession(s, 'POST /logout');
        addSetCookie(res, cookie('SESSION', '', { maxAge: 0 }));
        addSetCookie(res, cookie('XSRF-TOKEN', '', { maxAge: 0 }));
        return (sendJson(res, 200, { status: 'ok', message: '200 OK' }), true);
      }
      if (p === '/api/providers/logout') {
        const h = header(req, 'authorization');
        const s = h && /^bearer /i.test(h) ? ctx.state.findByToken(h.slice(7).trim(), ['web']) : undefined;
        if (!s || header(req, 'x-xsrf-token') !== s.csrf) return (sendJson(res, 401, { error: 'Unauthorized' }), true);
        ctx.state.endSession(s, '/api/providers/logout');
        return (sendJson(res, 200, { return: 0 }), true);
      }
      return false;
    },
    kvmUpgrade(u) {
      if (xcc3 && u.raw.socket.localPort !== ctx.rpPort() && u.path === '/kvm/0') {
        // OpenBMC dialect: the SESSION cookie, and the XSRF token as the subprotocol.
        const s = obmcSession(u);
        if (!s || u.protocols[0] !== s.csrf) return { accept: false, status: 401, message: 'Unauthorized' };
        return speaksRfb(
          {
            accept: true,
            protocol: s.csrf,
            vendorPath: '/kvm/0',
            overCap: 'busy',
            busyMessage: 'Remote console login result 5: session full.',
            launch: () => 'login-form',
          },
          u,
          'obmc',
        );
      }
      // The viewer socket exists only on the remote-presence port.
      if (u.raw.socket.localPort !== ctx.rpPort() || u.path !== '/') return undefined;
      let launch = 'login-form';
      return {
        accept: true,
        vendorPath: 'rp',
        overCap: 'busy',
        busyMessage: 'Remote console login result 5: session full.',
        authMessage: (m) => {
          if (m.type !== 'auth') return false;
          if (typeof m.token === 'string') {
            launch = ctx.state.tickets.get(m.token)?.launch ?? 'kvm-action';
            return ctx.state.redeemTicket(m.token);
          }
          if (typeof m.bearer === 'string') return !!ctx.state.findByToken(m.bearer, ['web']);
          return ctx.checkLogin(m.user, m.password);
        },
        launch: () => launch,
      };
    },
  };

  /** XCC3's OpenBMC-style login: both body shapes confluent and webui-vue send; old bmcweb cookie names. */
  function obmcLogin(req: Req, res: Res): void {
    const b = jsonBody(req) as Record<string, unknown> | undefined;
    const data = Array.isArray(b?.data) ? (b.data as unknown[]) : undefined;
    const user = data ? data[0] : b?.username;
    const pass = data ? data[1] : b?.password;
    if (typeof user !== 'string' || typeof pass !== 'string')
      return sendJson(res, 400, {
        status: 'error',
        message: 'Body must be {"data":[user,password]} or {"username","password"}.',
      });
    if (!ctx.checkLogin(user, pass)) return sendJson(res, 401, { status: 'error', message: '401 Unauthorized' });
    if (webSessionsFull(ctx)) return sendJson(res, 401, { status: 'error', message: 'Too many sessions' });
    const s: Session = ctx.state.createSession('web', user);
    addSetCookie(res, cookie('XSRF-TOKEN', s.csrf, { sameSite: 'Strict' }));
    addSetCookie(res, cookie('SESSION', s.token, { sameSite: 'Strict', httpOnly: true }));
    sendJson(res, 200, { token: s.token });
  }
}
