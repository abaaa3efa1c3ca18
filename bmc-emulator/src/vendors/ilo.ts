import type { Ctx, WebUi } from '../context.js';
import {
  addSetCookie,
  escapeHtml,
  jsonBody,
  page,
  redirect,
  scriptJson,
  sendHtml,
  sendJson,
  type Req,
  type Res,
} from '../http.js';
import { kvmPage } from '../kvm.js';
import type { Session } from '../state.js';
import { webSessionsFull } from './common.js';

/** sessionKey is readable by page JS on real iLOs (Ironic polls document.cookie for it), so not HttpOnly. */
const keyCookie = (v: string, maxAge?: number) =>
  `sessionKey=${v}; Path=/; Secure${maxAge !== undefined ? `; Max-Age=${maxAge}` : ''}`;

/** HPE iLO 4/5/6/7 web UI: JSON login_session, sessionKey cookie, /irc.html HTML5 console on /wss/ircport. */
export function iloUi(ctx: Ctx): WebUi {
  const gen = ctx.profile.generation ?? '5';
  /** Redfish X-Auth-Tokens count as sessionKeys while "sessionkey-cookie" is on (one key space). */
  const byKey = (key: string | undefined | null): Session | undefined =>
    ctx.state.findByToken(key ?? undefined, ctx.has('sessionkey-cookie') ? ['web', 'redfish'] : ['web']);
  const session = (req: { cookies: Record<string, string> }) => byKey(req.cookies.sessionKey);
  const busy = () => ctx.faults.kvmBusy || ctx.state.liveKvm() >= ctx.profile.maxKvmSessions;
  const ids =
    gen === '4'
      ? { user: 'usernameInput', pass: 'passwordInput', submit: 'ID_LOGON' }
      : { user: 'username', pass: 'password', submit: 'login-form__submit' };

  /** The login form; `after` says where to go once the sessionKey cookie is set. */
  const loginForm = (
    after: string,
    startDisabled: boolean,
  ) => `<div class="box loginBoxRestrictWidth"><h2>HPE iLO ${gen}</h2><p>${escapeHtml(ctx.node)}</p>
<form id="login-form" onsubmit="return false"><label>Local User <input id="${ids.user}" autocomplete="username"${startDisabled ? ' disabled' : ''}></label><br>
<label>Password <input id="${ids.pass}" type="password"></label><br><button id="${ids.submit}" type="submit">Log In</button></form>
<p id="login-message" class="err"></p></div>
<script>
${
  startDisabled
    ? `// Like iLO 6: the form is usable once the page's session check has answered.
fetch('/json/login_session').finally(() => document.getElementById('${ids.user}').removeAttribute('disabled'));`
    : ''
}
document.getElementById('login-form').addEventListener('submit', async () => {
  const r = await fetch('/json/login_session', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ method: 'login', user_login: document.getElementById('${ids.user}').value, password: document.getElementById('${ids.pass}').value }) });
  const j = await r.json().catch(() => ({}));
  if (!r.ok) { document.getElementById('login-message').textContent = 'Login failed: ' + (j.message || r.status); return; }
  location.href = ${scriptJson(after)};
});
</script>`;

  const applicationPage = () =>
    gen === '4'
      ? page(
          'iLO 4',
          `<div id="headerFrame"><b>iLO 4</b> ${escapeHtml(ctx.node)} <a href="#" id="logout_button" onclick="logout(); return false;">Log out</a></div>
<div id="frameContent"><h3>Integrated Remote Console</h3><span id="html5_irc_label"><a href="#" onclick="startHtml5Irc(); return false;">HTML5</a></span></div>
<script>window.startHtml5Irc = function () { location.href = '/irc.html'; };
async function logout() { await fetch('/json/login_session', { method: 'POST', body: JSON.stringify({ method: 'logout', session_key: (document.cookie.match(/sessionKey=([^;]+)/) || [])[1] }) }); top.location.href = '/'; }</script>`,
        )
      : page(
          `iLO ${gen}`,
          `<div><b>iLO ${gen}</b> ${escapeHtml(ctx.node)} <a href="#" id="userlink">${escapeHtml(ctx.username)}</a>
<a href="#" id="user_logout" onclick="logout(); return false;">Log Out</a></div>
<a href="#" id="tabset_rc" onclick="document.getElementById('iframeContent').src = '/html/rc_info.html'; return false;">Remote Console &amp; Media</a><br>
<iframe id="iframeContent" name="iframeContent" src="about:blank" style="width:600px;height:200px"></iframe>
<script>async function logout() { await fetch('/json/login_session', { method: 'POST', body: JSON.stringify({ method: 'logout', session_key: (document.cookie.match(/sessionKey=([^;]+)/) || [])[1] }) }); top.location.href = '/'; }</script>`,
        );

  const ircPage = (res: Res, s: Session) =>
    sendHtml(
      res,
      200,
      kvmPage(ctx, {
        wsUrl: '/wss/ircport',
        title: `${ctx.node} - iLO Integrated Remote Console`,
        handshake: { kind: 'ilo', secret: s.token },
      }),
    );

  return {
    handle(req, res) {
      const p = req.path;
      if ((p === '/' || p === '/index.html') && req.method === 'GET') {
        return (
          sendHtml(
            res,
            200,
            page(
              `iLO ${gen}`,
              `<iframe id="appFrame" name="appFrame" src="/html/login.html" style="border:0;width:98vw;height:95vh"></iframe>`,
            ),
          ),
          true
        );
      }
      if (p === '/html/login.html') {
        if (gen === '4' && !ctx.has('login-form')) {
          return (
            sendHtml(
              res,
              200,
              page(
                'iLO 4',
                '<div class="box"><p class="err" id="login-message">Login delayed after failed attempts (LoginAttemptDelayed). Try again later.</p></div>',
              ),
            ),
            true
          );
        }
        return (sendHtml(res, 200, page(`iLO ${gen} Login`, loginForm('/html/application.html', false))), true);
      }
      if (p === '/html/application.html') {
        if (!session(req)) return (redirect(res, '/html/login.html'), true);
        return (sendHtml(res, 200, applicationPage()), true);
      }
      if (p === '/html/rc_info.html') {
        if (!session(req)) return (redirect(res, '/html/login.html'), true);
        return (
          sendHtml(
            res,
            200,
            page(
              'Remote Console',
              `<p>HTML5 Integrated Remote Console</p>
<button id="HRCEXTButton" onclick="window.open('/irc.html', 'irc')">${busy() ? 'Acquire' : 'Launch'}</button>`,
            ),
          ),
          true
        );
      }
      if (p === '/json/login_session') return (loginSession(req, res), true);
      if (p === '/irc.html') {
        const param = req.url.searchParams.get('sessionkey');
        const viaParam = param && ctx.has('sessionkey-param') ? byKey(param) : undefined;
        if (viaParam) {
          viaParam.launch = 'sessionkey-param';
          addSetCookie(res, keyCookie(viaParam.token));
          return (ircPage(res, viaParam), true);
        }
        const s = session(req);
        if (s) return (ircPage(res, s), true);
        if (gen === '4' || gen === '5') {
          return (
            sendHtml(
              res,
              200,
              page(
                'iLO Integrated Remote Console',
                '<div class="box"><p class="err" id="irc-error">Invalid session key</p></div>',
              ),
            ),
            true
          );
        }
        // iLO 6/7: inline login on irc.html; the username field starts disabled.
        return (sendHtml(res, 200, page(`iLO ${gen} Remote Console`, loginForm('/irc.html', true))), true);
      }
      return false;
    },
    kvmUpgrade(u) {
      if (u.path !== '/wss/ircport') return undefined;
      const s = session(u);
      if (!s) return { accept: false, status: 401, message: 'Unauthorized' };
      return {
        accept: true,
        vendorPath: '/wss/ircport',
        overCap: 'busy',
        busyMessage: 'The remote console is in use by another user. Acquire to take it over.',
        // A Redfish session's token as the cookie is the sessionkey-cookie path; a web login is the form's.
        launch: () => s.launch ?? (s.kind === 'redfish' ? 'sessionkey-cookie' : 'login-form'),
        // CMD_AUTHENTICATE (80) -> 34-byte hello carrying the session key -> CMD_AUTHENTICATED (82).
        handshake: {
          challenge: [80],
          check: (a) => a.length === 34 && a.subarray(2, 34).toString('latin1').replace(/\0+$/, '') === s.token,
          confirm: [82],
        },
      };
    },
  };

  function loginSession(req: Req, res: Res): void {
    if (req.method === 'GET') {
      const s = session(req);
      if (!s) return sendJson(res, 403, { message: 'JS_ERR_LOST_SESSION', details: 'Invalid session key.' });
      return sendJson(res, 200, { session_key: s.token, user_name: s.user, user_account: s.user, remote_cons_priv: 1 });
    }
    const b = jsonBody(req) as Record<string, unknown> | undefined;
    if (!b || typeof b.method !== 'string')
      return sendJson(res, 400, { message: 'JS_ERR_BAD_REQUEST', details: 'Body must be JSON with "method".' });
    if (b.method === 'logout') {
      const s = byKey(typeof b.session_key === 'string' ? b.session_key : req.cookies.sessionKey);
      if (s) ctx.state.endSession(s, 'json logout');
      addSetCookie(res, keyCookie('', 0));
      return sendJson(res, 200, { message: 'Logged out' });
    }
    if (b.method !== 'login')
      return sendJson(res, 400, { message: 'JS_ERR_BAD_REQUEST', details: `Unknown method ${String(b.method)}.` });
    if (gen === '4' && !ctx.has('login-form'))
      return sendJson(res, 403, { message: 'LoginAttemptDelayed', details: 'Login delayed after failed attempts.' });
    if (!ctx.checkLogin(b.user_login, b.password))
      return sendJson(res, 403, { message: 'JS_ERR_LOST_SESSION', details: 'Login failed.' });
    if (webSessionsFull(ctx))
      return sendJson(res, 500, { message: 'JS_ERR_NO_FREE_SESSIONS', details: 'There are no more free sessions.' });
    const s = ctx.state.createSession('web', String(b.user_login));
    addSetCookie(res, keyCookie(s.token));
    sendJson(res, 200, { session_key: s.token, user_name: s.user, user_account: s.user, remote_cons_priv: 1 });
  }
}
