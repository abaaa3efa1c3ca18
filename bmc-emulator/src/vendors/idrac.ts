import type { Ctx, UpgradeDecision, UpgradeReq, WebUi } from '../context.js';
import {
  addSetCookie,
  cookie,
  escapeHtml,
  formBody,
  header,
  page,
  redirect,
  scriptJson,
  sendHtml,
  sendJson,
  sendText,
  type Req,
  type Res,
} from '../http.js';
import { kvmPage, speaksRfb } from '../kvm.js';
import { legacyIdrac } from '../profiles.js';
import { digits, hexToken } from '../state.js';
import { cookieSession, hostOnly, portOnly, unquote, webSessionsFull } from './common.js';

const COOKIE = '-http-session-';

/** Dell iDRAC web UI: iDRAC9/10 (restgui + sysmgmt API) or iDRAC7/8 (login.html + /data/login frames). */
export function idracUi(ctx: Ctx): WebUi {
  return legacyIdrac(ctx.profile) ? idracLegacy(ctx) : idrac9(ctx);
}

function idrac9(ctx: Ctx): WebUi {
  const session = (req: { cookies: Record<string, string> }) => cookieSession(ctx, req, COOKIE);
  /** Cookie plus the XSRF-TOKEN header, as the restgui app sends them. */
  const apiSession = (req: Req) => {
    const s = session(req);
    return s && header(req, 'xsrf-token') === s.csrf ? s : undefined;
  };
  /** The address the client used (Host header), as a real iDRAC answers with its own IP: matters behind NAT/containers. */
  const viewerUrl = (req: Req, title: string, vcsid: string, vcsid2: string) => {
    const hostPort = header(req, 'host') ?? ctx.hostPort();
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hostPort);
    const ip = m?.[1] ?? hostOnly(ctx);
    const port = m?.[2] ?? (header(req, 'host') ? '443' : portOnly(ctx));
    return `https://${hostPort}/restgui/vconsole/index.html?ip=${ip}&kvmport=${port}&title=${encodeURIComponent(title)}&VCSID=${vcsid}&VCSID2=${vcsid2}`;
  };
  const title = () => `idrac-${ctx.node}`;

  const startPage = () =>
    page(
      `iDRAC9 - Login`,
      `<div class="idrac-start-screen box">
<h2>Integrated Dell Remote Access Controller ${escapeHtml(ctx.profile.generation ?? '')}</h2><p>${escapeHtml(ctx.node)}</p>
<form id="login-form" onsubmit="return false"><input name="username" placeholder="Username" autocomplete="username"><br>
<input name="password" type="password" placeholder="Password"><br><button class="cux-button" type="submit">Log In</button></form>
<p id="login-message" class="err"></p></div>
<script>
const form = document.getElementById('login-form');
const msg = document.getElementById('login-message');
form.addEventListener('submit', async () => {
  const u = form.username.value, p = form.password.value;
  const r = await fetch('/sysmgmt/2015/bmc/session', { method: 'POST', headers: { user: '"' + u + '"', password: '"' + p + '"' } });
  let body = {}; try { body = await r.json(); } catch (e) {}
  if (r.status !== 201 || ![0, 7, 9].includes(body.authResult)) { msg.textContent = 'Login failed (authResult ' + body.authResult + ').'; return; }
  sessionStorage.setItem('XSRF-TOKEN', r.headers.get('XSRF-TOKEN'));
  if (location.search.includes('console')) {
    const v = await fetch('/sysmgmt/2015/server/vconsole', { headers: { 'XSRF-TOKEN': r.headers.get('XSRF-TOKEN') } });
    const j = await v.json();
    if (j.Location) window.open(j.Location, '_blank');
    else { msg.textContent = 'Virtual Console is disabled or not licensed.'; return; }
  }
  location.href = '/restgui/index.html';
});
</script>`,
    );

  const dashboard = () =>
    page(
      'iDRAC9 - Dashboard',
      `<div class="box"><h2>Dashboard</h2><p>${escapeHtml(ctx.node)}</p>
<a href="#" id="launch-virtual-console">Launch Virtual Console</a> | <a href="#" id="logout">Log Out</a><p id="msg"></p></div>
<script>
const xsrf = sessionStorage.getItem('XSRF-TOKEN');
document.getElementById('launch-virtual-console').onclick = async (e) => {
  e.preventDefault();
  const j = await (await fetch('/sysmgmt/2015/server/vconsole', { headers: { 'XSRF-TOKEN': xsrf } })).json();
  if (j.Location) window.open(j.Location, '_blank'); else document.getElementById('msg').textContent = 'Virtual Console unavailable.';
};
document.getElementById('logout').onclick = async (e) => {
  e.preventDefault();
  await fetch('/sysmgmt/2015/bmc/session', { method: 'DELETE', headers: { 'XSRF-TOKEN': xsrf } });
  location.href = '/restgui/start.html';
};
</script>`,
    );

  return {
    handle(req, res) {
      const p = req.path;
      if (p === '/' && req.method === 'GET') return (redirect(res, '/restgui/start.html'), true);
      if (p.startsWith('/restgui/') && !/\bgzip\b/.test(header(req, 'accept-encoding') ?? '')) {
        // Real iDRAC9 serves restgui assets only to clients that accept gzip.
        return (sendText(res, 404, 'text/plain', 'Not Found'), true);
      }
      if (p === '/restgui/start.html' || p === '/restgui/start') return (sendHtml(res, 200, startPage()), true);
      if (p === '/restgui/index.html') {
        if (!session(req)) return (redirect(res, '/restgui/start.html'), true);
        return (sendHtml(res, 200, dashboard()), true);
      }
      if (p === '/sysmgmt/2015/bmc/session') return (login9(req, res), true);
      if (p === '/sysmgmt/2015/server/vconsole' && req.method === 'GET') {
        if (!apiSession(req)) return (sendJson(res, 401, { error: 'Unauthorized' }), true);
        const t = ctx.state.issueTicket(digits(24), digits(24), 'web-api');
        return (sendJson(res, 200, { Location: viewerUrl(req, title(), t.key, t.secret) }), true);
      }
      if (p === '/console' && req.method === 'GET') {
        // Dell's "direct launch" with GetKVMSession one-time credentials.
        const q = req.url.searchParams;
        const user = q.get('tempUsername'),
          pass = q.get('tempPassword');
        if (!ctx.state.ticketValid(user, pass)) return (redirect(res, '/restgui/start.html?console'), true);
        return (redirect(res, viewerUrl(req, title(), user ?? '', pass ?? '')), true);
      }
      if (p === '/restgui/vconsole/index.html') {
        const q = req.url.searchParams;
        const vcsid = q.get('VCSID');
        if (!ctx.state.ticketValid(vcsid, q.get('VCSID2'))) {
          return (
            sendHtml(
              res,
              200,
              page(
                'Virtual Console',
                '<div class="box"><p class="err" id="vconsole-error">Virtual Console session is not valid or has expired. Launch it again from the iDRAC.</p></div>',
              ),
            ),
            true
          );
        }
        const t = `${q.get('title') ?? title()}, ${String(ctx.profile.system.Model ?? '')}, User: ${ctx.username}, FPS: 30`;
        return (
          sendHtml(
            res,
            200,
            kvmPage(ctx, {
              wsUrl: `/vnc/vconsole?vck=${vcsid}`,
              protocols: ['binary'],
              title: t,
              handshake: { kind: 'idrac', secret: q.get('VCSID2') ?? '' },
            }),
          ),
          true
        );
      }
      return false;
    },
    kvmUpgrade(u: UpgradeReq): UpgradeDecision | undefined {
      if (u.path !== '/vnc/vconsole' && u.path !== '/vmc/vconsole') return undefined;
      const ticket = ctx.state.takeTicket(u.url.searchParams.get('vck'));
      if (!ticket) return { accept: false, status: 401, message: 'Unauthorized' };
      const d: UpgradeDecision = {
        accept: true,
        protocol: u.protocols.includes('binary') ? 'binary' : undefined,
        vendorPath: u.path,
        overCap: 'shared',
        launch: () => ticket.launch ?? 'web-api',
        busyMessage: 'Virtual Console is in use by another user (sharing request denied).',
        // KEY2: the server speaks first (f7 b3); the client answers 247,179, VCSID2 as 24 ASCII bytes, 8 zero bytes.
        handshake: {
          challenge: [0xf7, 0xb3],
          check: (a) =>
            a.length === 34 && a[0] === 247 && a[1] === 179 && a.subarray(2, 26).toString('latin1') === ticket.secret,
        },
      };
      // iDRAC9's vconsole speaks RFB after the preamble (RGB565 whatever ServerInit says); the page keeps JSON.
      return ctx.profile.name === 'idrac9' ? speaksRfb(d, u, 'idrac') : d;
    },
  };

  function login9(req: Req, res: Res): void {
    if (req.method === 'DELETE') {
      const s = apiSession(req);
      if (!s) return sendJson(res, 401, { error: 'Unauthorized' });
      ctx.state.endSession(s, 'DELETE /sysmgmt/2015/bmc/session');
      addSetCookie(res, cookie(COOKIE, '', { maxAge: 0 }));
      return sendJson(res, 200, { status: 'ok' });
    }
    if (req.method !== 'POST') return sendJson(res, 405, { error: 'Method Not Allowed' });
    const user = unquote(header(req, 'user'));
    const pass = unquote(header(req, 'password'));
    if (!ctx.checkLogin(user, pass)) return sendJson(res, 401, { authResult: 1 });
    if (webSessionsFull(ctx)) return sendJson(res, 401, { authResult: 5 });
    const s = ctx.state.createSession('web', user ?? '');
    addSetCookie(res, cookie(COOKIE, s.token, { httpOnly: true, sameSite: 'Strict' }));
    sendJson(res, 201, { authResult: 0 }, { 'XSRF-TOKEN': s.csrf });
  }
}

/** iDRAC7/8: /data/login XML, ST1/ST2, frames globalnav/da, console popup with #kvmCanvas. */
function idracLegacy(ctx: Ctx): WebUi {
  const gen = ctx.profile.generation ?? '8';
  const session = (req: { cookies: Record<string, string> }) => cookieSession(ctx, req, COOKIE);
  const xml = (res: Res, body: string) =>
    sendText(res, 200, 'text/xml', `<?xml version="1.0" encoding="UTF-8"?><root>${body}</root>`, { X_Language: 'en' });
  const html = (res: Res, body: string) => sendHtml(res, 200, body, { X_Language: 'en' });
  const loginPage = () =>
    page(
      `iDRAC${gen} - Login`,
      `<div class="box"><h2>Integrated Dell Remote Access Controller ${escapeHtml(gen)}</h2><p>${escapeHtml(ctx.node)}</p>
<label>Username <input id="user" autocomplete="username"></label><br><label>Password <input id="password" type="password"></label><br>
<a href="#" id="submit_lbl" onclick="doLogin(); return false;">Submit</a><p id="login_error" class="err"></p></div>
<script>
async function doLogin() {
  const body = new URLSearchParams({ user: document.getElementById('user').value, password: document.getElementById('password').value });
  const r = await fetch('/data/login', { method: 'POST', body });
  const x = new DOMParser().parseFromString(await r.text(), 'text/xml');
  const result = x.querySelector('authResult') ? x.querySelector('authResult').textContent : '1';
  if (result !== '0') { document.getElementById('login_error').textContent = 'Login failed (authResult ' + result + ').'; return; }
  const fwd = x.querySelector('forwardUrl').textContent;
  const deepLink = ${scriptJson(ctx.has('console-deeplink'))} && location.search.includes('console');
  location.href = '/' + fwd + (deepLink ? '&console' : '');
}
</script>`,
    );
  return {
    handle(req, res) {
      const p = req.path;
      const q = req.url.search;
      if ((p === '/' || p === '/start.html') && req.method === 'GET') return (redirect(res, `/login.html${q}`), true);
      if (gen === '7' && p.endsWith('.html') && !/\bgzip\b/.test(header(req, 'accept-encoding') ?? '')) {
        // The 12G iDRAC7 (fw 2.x) answers 404 for its pages unless the client accepts gzip.
        return (sendText(res, 404, 'text/plain', 'Not Found'), true);
      }
      if (p === '/login.html') return (html(res, loginPage()), true);
      if (p === '/data/login' && req.method === 'POST') {
        const f = formBody(req);
        if (!ctx.checkLogin(f.get('user'), f.get('password')))
          return (xml(res, '<status>ok</status><authResult>1</authResult>'), true);
        if (webSessionsFull(ctx)) return (xml(res, '<status>ok</status><authResult>5</authResult>'), true);
        const s = ctx.state.createSession('web', f.get('user') ?? '');
        addSetCookie(res, cookie(COOKIE, s.token, { httpOnly: true }));
        return (
          xml(
            res,
            `<status>ok</status><authResult>0</authResult><forwardUrl>index.html?ST1=${hexToken(16)},ST2=${s.csrf}</forwardUrl>`,
          ),
          true
        );
      }
      if (p === '/data/logout') {
        const s = session(req);
        if (s) ctx.state.endSession(s, '/data/logout');
        addSetCookie(res, cookie(COOKIE, '', { maxAge: 0 }));
        return (xml(res, '<status>ok</status><authResult>0</authResult>'), true);
      }
      if (p === '/data' && req.method === 'GET') {
        // Data requests carry ST2 as a header (the CSRF token).
        const s = session(req);
        if (!s || header(req, 'ST2') !== s.csrf)
          return (sendText(res, 401, 'text/plain', 'Unauthorized', { X_Language: 'en' }), true);
        return (
          xml(
            res,
            `<status>ok</status><sysDesc>${escapeHtml(String(ctx.profile.system.Model ?? ''))}</sysDesc><hostName>${escapeHtml(ctx.node)}</hostName>`,
          ),
          true
        );
      }
      if (p === '/index.html') {
        const s = session(req);
        const st2 = /ST2=([0-9a-f]+)/.exec(q)?.[1];
        if (!s || st2 !== s.csrf) return (redirect(res, '/login.html'), true);
        const consoleNow = /[?&,]console\b/.test(q);
        return (
          html(
            res,
            `<!doctype html><html><head><title>iDRAC${escapeHtml(gen)} - ${escapeHtml(ctx.node)}</title></head>
<frameset rows="70,*"><frame name="globalnav" src="/globalnav.html?ST2=${s.csrf}"><frame name="da" src="/da.html${consoleNow ? '?console' : ''}"></frameset></html>`,
          ),
          true
        );
      }
      if (p === '/globalnav.html') {
        if (!session(req)) return (redirect(res, '/login.html'), true);
        return (
          html(
            res,
            page(
              'globalnav',
              `<b>iDRAC${escapeHtml(gen)}</b> ${escapeHtml(ctx.node)} <a href="#" id="logout" onclick="logout(); return false;">Logout</a>
<script>async function logout() { await fetch('/data/logout', { headers: { ST2: new URLSearchParams(location.search).get('ST2') } }); top.location.href = '/login.html'; }</script>`,
            ),
          ),
          true
        );
      }
      if (p === '/da.html') {
        const s = session(req);
        if (!s) return (redirect(res, '/login.html'), true);
        // The deep link opens the console as this page loads; otherwise only the Launch link does.
        s.launch = req.url.searchParams.has('console') ? 'console-deeplink' : 'launch-link';
        return (
          html(
            res,
            page(
              'Overview',
              `<h3>Virtual Console Preview</h3><a href="#" id="launch_vconsole" onclick="launch(); return false;">Launch</a>
<iframe name="help" src="about:blank" style="width:200px;height:60px"></iframe>
<script>function launch() { window.open('/viewer.html', 'vconsole', 'width=1060,height=820'); }
if (location.search.includes('console')) launch();</script>`,
            ),
          ),
          true
        );
      }
      if (p === '/viewer.html') {
        if (!session(req)) return (redirect(res, '/login.html'), true);
        return (
          html(
            res,
            kvmPage(ctx, {
              wsUrl: '/vkvm/',
              protocols: ['lws-dvc-protocol'],
              title: `${ctx.node} - Virtual Console`,
              canvasId: 'kvmCanvas',
            }),
          ),
          true
        );
      }
      return false;
    },
    kvmUpgrade(u) {
      if (u.path !== '/vkvm' && u.path !== '/') return undefined;
      const s = session(u);
      if (!s) return { accept: false, status: 401, message: 'Unauthorized' };
      return {
        accept: true,
        protocol: u.protocols.includes('lws-dvc-protocol') ? 'lws-dvc-protocol' : undefined,
        vendorPath: '/vkvm/',
        overCap: 'busy',
        busyMessage: 'Maximum number of Virtual Console sessions reached.',
        launch: () => s.launch ?? 'launch-link',
      };
    },
  };
}
