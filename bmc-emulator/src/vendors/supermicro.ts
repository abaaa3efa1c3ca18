import type { Ctx, WebUi } from '../context.js';
import {
  addSetCookie,
  basicAuth,
  escapeHtml,
  formBody,
  header,
  page,
  redirect,
  scriptJson,
  sendHtml,
  sendText,
  type Req,
  type Res,
} from '../http.js';
import { kvmPage } from '../kvm.js';
import { supermicroRedfishEra } from '../profiles.js';
import { hexToken } from '../state.js';
import { webSessionsFull } from './common.js';

// A 1x1 grey PNG standing in for the host snapshot thumbnail.
const SNAPSHOT_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNoAAAAggCB3XkqRwAAAABJRU5ErkJggg==',
  'base64',
);

/**
 * Supermicro ATEN web UI (X11/X12: /cgi/login.cgi) and the Redfish-era variant (X13/H13: login.cgi answers 400,
 * Redfish sessions set the SID cookie, Oem/Supermicro/IKVM hands out a .IKVM console page). Console pages name
 * their launch path: the .IKVM link (kvm-action, or ikvm-patch after selecting HTML 5), the UI's own popup
 * man_ikvm_html5_auto (ui-launch: the snapshot or the iKVM/HTML5 button) or man_ikvm_html5_bootstrap opened
 * directly (bootstrap-direct).
 */
export function supermicroUi(ctx: Ctx): WebUi {
  const x13 = supermicroRedfishEra(ctx.profile);
  const session = (req: { cookies: Record<string, string> }) =>
    ctx.state.findByToken(req.cookies.SID, ['web', 'redfish']);
  const sidCookie = (v: string, maxAge?: number) =>
    `SID=${v}; path=/; secure; HttpOnly${maxAge !== undefined ? `; Max-Age=${maxAge}` : ''}`;

  const loginPage = (err = '') =>
    page(
      `Supermicro ${x13 ? 'BMC' : 'IPMI'} Login`,
      `<div class="box"><h2>Please Login</h2><p>${escapeHtml(ctx.node)}</p>
<form name="form1" id="login_form" action="/cgi/login.cgi" method="post"${x13 ? ' onsubmit="return redfishLogin()"' : ''}>
<label>Username <input name="name" id="name" autocomplete="username"></label><br><label>Password <input name="pwd" id="pwd" type="password"></label><br>
<input type="submit" id="login_word" value="login"></form><p id="login_error" class="err">${escapeHtml(err)}</p></div>
${
  x13
    ? `<script>
function redfishLogin() {
  fetch('/redfish/v1/SessionService/Sessions', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ UserName: document.getElementById('name').value, Password: document.getElementById('pwd').value }) })
    .then((r) => { if (r.status === 201) location.href = '/cgi/url_redirect.cgi?url_name=mainmenu'; else document.getElementById('login_error').textContent = 'Invalid Username or Password'; });
  return false;
}</script>`
    : ''
}`,
    );

  const consolePage = (res: Res, title: string, launch: string) => {
    const t = ctx.state.issueTicket(hexToken(12), 'entry', launch);
    const extra = `<input type="hidden" id="entry_value" value="${t.key}">
<div id="VideoRecordingModal" class="modal" style="position:fixed;left:30%;top:40%;background:#fff;color:#222;padding:1em;border:1px solid #888;font-family:sans-serif">
Video recording may be active on this BMC. <button onclick="document.getElementById('VideoRecordingModal').style.display='none'">Close</button></div>`;
    sendHtml(
      res,
      200,
      kvmPage(ctx, { wsUrl: '/', title, authMessage: { type: 'auth', entry_value: t.key }, extraHtml: extra }),
    );
  };

  const frames: Record<string, (req: Req, res: Res) => void> = {
    mainmenu: (_req, res) =>
      sendHtml(
        res,
        200,
        page(
          'Supermicro',
          `<iframe id="TOPMENU" name="TOPMENU" src="/cgi/url_redirect.cgi?url_name=topmenu" style="border:0;width:98vw;height:95vh"></iframe>`,
        ),
      ),
    topmenu: (req, res) => {
      const s = session(req);
      sendHtml(
        res,
        200,
        page(
          'topmenu',
          `<script>var CSRF_TOKEN = ${scriptJson(s?.csrf ?? '')}; var PRIV_ID = "04"; SmcCsrfInsert ("CSRF-TOKEN", ${scriptJson(s?.csrf ?? '')}); function SmcCsrfInsert() {}</script>
<div><b>Supermicro</b> ${escapeHtml(ctx.node)} <a href="#" id="remote" onclick="document.getElementById('frame_main').src='/cgi/url_redirect.cgi?url_name=man_ikvm'; return false;">Remote Control</a>
<a href="/cgi/url_redirect.cgi?url_name=man_ikvm" target="frame_main">iKVM/HTML5</a> <a href="/cgi/logout.cgi" target="_top">Logout</a></div>
<iframe id="frame_main" name="frame_main" src="/cgi/url_redirect.cgi?url_name=sys_info" style="border:0;width:95vw;height:80vh"></iframe>`,
        ),
      );
    },
    sys_info: (_req, res) =>
      sendHtml(
        res,
        200,
        page(
          'System',
          ctx.has('mainmenu-snapshot')
            ? `<p>Remote Console Preview</p><img id="img1" src="/cgi/CapturePreview.cgi?Snapshot_TN=${Date.now()}" width="160" height="120" style="border:1px solid #888" onclick="window.open('/cgi/url_redirect.cgi?url_name=man_ikvm_html5_auto', 'iKVM_HTML5', 'width=1060,height=820')">`
            : '<p id="no_preview">Host is powered off: no preview available.</p>',
        ),
      ),
    man_ikvm: (_req, res) =>
      sendHtml(
        res,
        200,
        page(
          'iKVM',
          `<input type="button" value="iKVM/HTML5" id="launchikvmhtml5"
onclick="window.open('../cgi/url_redirect.cgi?url_name=man_ikvm_html5_auto', 'iKVM_HTML5', 'width=1060,height=820')">`,
        ),
      ),
    man_ikvm_html5_bootstrap: (_req, res) => consolePage(res, `${ctx.node} iKVM HTML5`, 'bootstrap-direct'),
    man_ikvm_html5_auto: (_req, res) => consolePage(res, `${ctx.node} iKVM HTML5`, 'ui-launch'),
  };

  return {
    handle(req, res) {
      const p = req.path;
      if (p === '/' && req.method === 'GET') return (sendHtml(res, 200, loginPage()), true);
      if (p === '/cgi/login.cgi' && req.method === 'POST') {
        if (x13) return (sendText(res, 400, 'text/plain', 'Bad Request'), true);
        const f = formBody(req);
        let name = f.get('name') ?? '',
          pwd = f.get('pwd') ?? '';
        if (f.get('check') === '00') {
          name = Buffer.from(name, 'base64').toString('utf8');
          pwd = Buffer.from(pwd, 'base64').toString('utf8');
        }
        // Like old ATEN firmware: a failed login is still HTTP 200; the body tells.
        if (!ctx.checkLogin(name, pwd)) return (sendHtml(res, 200, loginPage('Invalid Username or Password')), true);
        if (webSessionsFull(ctx))
          return (sendHtml(res, 200, loginPage('Too many sessions. Please try again later.')), true);
        const s = ctx.state.createSession('web', name);
        addSetCookie(res, sidCookie(s.token));
        return (
          sendHtml(
            res,
            200,
            `<html><head><META HTTP-EQUIV="refresh" CONTENT="0;URL=../cgi/url_redirect.cgi?url_name=mainmenu"></head><body></body></html>`,
          ),
          true
        );
      }
      if (p === '/cgi/logout.cgi') {
        const s = session(req);
        if (s) ctx.state.endSession(s, '/cgi/logout.cgi');
        addSetCookie(res, sidCookie('', 0));
        return (redirect(res, '/'), true);
      }
      if (p === '/cgi/CapturePreview.cgi') {
        if (!session(req)) return (sendText(res, 401, 'text/plain', 'Unauthorized'), true);
        return (sendText(res, 200, 'image/png', SNAPSHOT_PNG), true);
      }
      if (p === '/cgi/url_redirect.cgi') {
        const name = req.url.searchParams.get('url_name') ?? '';
        const frame = frames[name];
        if (!frame) return (sendText(res, 404, 'text/plain', 'Not Found'), true);
        if (!session(req)) return (redirect(res, '/'), true);
        // Requests from frames after login carry the CSRF token only as a header on XHRs; pages need just SID.
        void header;
        return (frame(req, res), true);
      }
      const ikvm = /^\/redfish\/([0-9a-f]+)\.IKVM$/.exec(p);
      if (ikvm) {
        // The .IKVM page needs Basic or X-Auth-Token (its socket needs the SID cookie on top).
        const b = basicAuth(req);
        const authed =
          (b && ctx.checkLogin(b.user, b.password)) || ctx.state.findByToken(header(req, 'x-auth-token'), ['redfish']);
        if (!authed)
          return (sendText(res, 401, 'text/plain', 'Unauthorized', { 'www-authenticate': 'Basic realm="IKVM"' }), true);
        if (!ctx.state.ticketValid(ikvm[1])) return (sendText(res, 404, 'text/plain', 'Not Found'), true);
        return (
          consolePage(res, `${ctx.node} iKVM HTML5`, ctx.state.tickets.get(ikvm[1] ?? '')?.launch ?? 'kvm-action'), true
        );
      }
      return false;
    },
    kvmUpgrade(u) {
      if (u.path !== '/') return undefined;
      if (!session(u)) return { accept: false, status: 401, message: 'Unauthorized' };
      let launch: string | undefined;
      return {
        accept: true,
        vendorPath: '/',
        overCap: 'busy',
        busyMessage: 'iKVM: the maximum number of sessions is reached.',
        authMessage: (m) => {
          if (m.type !== 'auth' || typeof m.entry_value !== 'string') return false;
          launch = ctx.state.tickets.get(m.entry_value)?.launch;
          return ctx.state.redeemTicket(m.entry_value);
        },
        launch: () => launch ?? 'unknown',
      };
    },
    onRedfishSession(_req, res, s) {
      if (!x13) return false;
      // Redfish-era firmware sets SID along with X-Auth-Token; the console socket needs it.
      addSetCookie(res, sidCookie(s.token));
      return false;
    },
  };
}
