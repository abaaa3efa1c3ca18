import type { Ctx, WebUi } from '../context.js';
import {
  addSetCookie,
  cookie,
  escapeHtml,
  formBody,
  header,
  isFormEncoded,
  page,
  scriptJson,
  sendHtml,
  sendJson,
  type Req,
} from '../http.js';
import { kvmPage } from '../kvm.js';
import { hexToken } from '../state.js';
import { webSessionsFull } from './common.js';

/** AMI MegaRAC SP-X: form-only POST /api/session, QSESSIONID + X-CSRFTOKEN, viewer.html popup, /kvm socket. */
export function amiUi(ctx: Ctx): WebUi {
  const session = (req: { cookies: Record<string, string> }) => ctx.state.findByToken(req.cookies.QSESSIONID, ['web']);
  const apiSession = (req: Req) => {
    const s = session(req);
    return s && header(req, 'x-csrftoken') === s.csrf ? s : undefined;
  };
  // With "login-form" off the SPA is another SP-X build whose form has other ids (emulator choice: builds differ).
  const ids = ctx.has('login-form')
    ? { user: 'userid', pass: 'password', button: 'btn-login' }
    : { user: 'login_username', pass: 'login_password', button: 'login_submit' };
  const spa = () =>
    page(
      'MegaRAC SP-X',
      `<div id="login-view" class="box" style="display:none"><h2>MegaRAC SP-X</h2><p>${escapeHtml(ctx.node)}</p>
<form id="login-form" onsubmit="return false"><input id="${ids.user}" placeholder="Username" autocomplete="username"><br><input id="${ids.pass}" type="password" placeholder="Password"><br>
<button id="${ids.button}" type="submit">Sign me in</button></form><p id="login-message"></p></div>
<div id="main-view" style="display:none"><div class="box"><b>${escapeHtml(ctx.node)}</b> <a href="#dashboard">Dashboard</a> | <a href="#remote-control" id="nav-remote-control">Remote Control</a> | <a href="#logout">Sign out</a>
<div id="remote-control-view" style="display:none"><h3>Remote Control</h3><button id="launch-h5viewer">Launch H5Viewer</button></div></div></div>
<script>
const garc = () => (document.cookie.match(/(?:^|; )garc=([^;]+)/) || [])[1];
function show(v) { document.getElementById('login-view').style.display = v === 'login' ? 'block' : 'none'; document.getElementById('main-view').style.display = v === 'login' ? 'none' : 'block';
  document.getElementById('remote-control-view').style.display = v === 'remote-control' ? 'block' : 'none'; }
async function route() {
  const h = location.hash.replace('#', '') || 'dashboard';
  if (!garc()) return show('login');
  if (h === 'logout') {
    if (confirm('Are you sure you want to sign out?')) {
      await fetch('/api/session', { method: 'DELETE', headers: { 'X-CSRFTOKEN': garc() } });
      for (const c of ['garc', 'user_id', 'privilege']) document.cookie = c + '=; Max-Age=0; Path=/';
      location.hash = '#login';
    } else location.hash = '#dashboard';
    return;
  }
  if (h === 'login') { location.hash = '#dashboard'; return; }
  show(h);
}
window.addEventListener('hashchange', route);
document.getElementById('login-form').addEventListener('submit', async () => {
  const body = new URLSearchParams({ username: document.getElementById('${ids.user}').value, password: document.getElementById('${ids.pass}').value, certlogin: '0' });
  const r = await fetch('/api/session', { method: 'POST', body });
  const j = await r.json().catch(() => ({}));
  if (!r.ok) { document.getElementById('login-message').textContent = 'Login failed' + (j.code ? ' (code ' + j.code + ')' : '') + '.'; return; }
  document.cookie = 'garc=' + j.CSRFToken + '; Path=/; Secure';
  document.cookie = 'user_id=' + j.user_id + '; Path=/; Secure';
  document.cookie = 'privilege=' + j.privilege + '; Path=/; Secure';
  location.hash = '#dashboard';
  route();
});
document.getElementById('launch-h5viewer').onclick = () => window.open('/viewer.html', 'H5Viewer', 'width=1060,height=820');
route();
</script>`,
    );

  // viewer.html asks for the KVM token, then opens wss://<bmc>/kvm with subprotocols binary, base64.
  const viewerStart = `(async () => {
  const garc = (document.cookie.match(/(?:^|; )garc=([^;]+)/) || [])[1];
  if (!${scriptJson(ctx.has('viewer-direct'))} && !window.opener) { document.body.dataset.kvm = 'error'; document.title = 'H5Viewer: launch from Remote Control'; return; }
  const r = await fetch('/api/settings/media/h5viewercfg', { headers: { 'X-CSRFTOKEN': garc || '' } });
  if (!r.ok) { document.body.dataset.kvm = 'error'; return; }
  const cfg = await r.json();
  // "via" is emulator-only: it lets the state name the launch path (popup from Remote Control, or opened directly).
  window.__kvmStart(Object.assign({}, window.__KVM_BASE, { authMessage: { type: 'auth', token: cfg.token, via: window.opener ? 'popup' : 'direct' } }));
})();`;

  return {
    handle(req, res) {
      const p = req.path;
      if ((p === '/' || p === '/index.html') && req.method === 'GET') return (sendHtml(res, 200, spa()), true);
      if (p === '/api/session') {
        if (req.method === 'DELETE') {
          const s = apiSession(req);
          if (!s) return (sendJson(res, 401, { error: 'Invalid Authentication', code: 401 }), true);
          ctx.state.endSession(s, 'DELETE /api/session');
          addSetCookie(res, cookie('QSESSIONID', '', { maxAge: 0 }));
          return (sendJson(res, 200, { cc: 0 }), true);
        }
        if (req.method !== 'POST') return (sendJson(res, 405, { error: 'Method Not Allowed' }), true);
        if (!isFormEncoded(req)) return (sendJson(res, 403, { error: 'Forbidden', code: 403 }), true);
        const f = formBody(req);
        if (!ctx.checkLogin(f.get('username'), f.get('password')))
          return (sendJson(res, 401, { error: 'Invalid Credentials', code: 14000 }), true);
        if (webSessionsFull(ctx)) return (sendJson(res, 401, { error: 'Could not login', code: 15000 }), true);
        const s = ctx.state.createSession('web', f.get('username') ?? '');
        addSetCookie(res, `QSESSIONID=${s.token}; path=/; secure; HttpOnly`);
        return (
          sendJson(res, 200, {
            ok: 0,
            privilege: 4,
            extendedpriv: 259,
            racsession_id: Number(s.id),
            user_id: 2,
            remote_addr: '127.0.0.1',
            server_name: ctx.node,
            server_addr: '127.0.0.1',
            HTTPSEnabled: 1,
            CSRFToken: s.csrf,
            cc: 0,
          }),
          true
        );
      }
      if (p === '/api/settings/media/h5viewercfg' || p === '/api/kvm/token') {
        if (!apiSession(req)) return (sendJson(res, 401, { error: 'Invalid Authentication', code: 401 }), true);
        const t = ctx.state.issueTicket(hexToken(16), 'kvm');
        return (
          sendJson(
            res,
            200,
            p === '/api/kvm/token'
              ? { token: t.key, cc: 0 }
              : { token: t.key, session: hexToken(8), client_ip: '127.0.0.1', server_ip: '127.0.0.1' },
          ),
          true
        );
      }
      if (p === '/viewer.html') {
        if (!session(req))
          return (
            sendHtml(res, 401, page('H5Viewer', '<p id="viewer-error">Session expired. Please sign in again.</p>')),
            true
          );
        return (
          sendHtml(
            res,
            200,
            kvmPage(ctx, {
              wsUrl: '/kvm',
              protocols: ['binary', 'base64'],
              title: `${ctx.node} - H5Viewer`,
              deferredStart: viewerStart,
            }),
          ),
          true
        );
      }
      return false;
    },
    kvmUpgrade(u) {
      if (u.path !== '/kvm') return undefined;
      if (!session(u)) return { accept: false, status: 401, message: 'Unauthorized' };
      let via: unknown;
      return {
        accept: true,
        protocol: u.protocols.includes('binary') ? 'binary' : undefined,
        vendorPath: '/kvm',
        overCap: 'busy',
        busyMessage: 'KVM: the maximum number of sessions is reached.',
        authMessage: (m) => {
          via = m.via;
          return m.type === 'auth' && typeof m.token === 'string' && ctx.state.redeemTicket(m.token);
        },
        launch: () => (via === 'popup' ? 'h5viewer-popup' : 'viewer-direct'),
      };
    },
  };
}
