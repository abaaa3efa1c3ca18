import type { Ctx, WebUi } from '../context.js';
import { addSetCookie, cookie, formBody, page, redirect, sendHtml } from '../http.js';
import { kvmPage } from '../kvm.js';
import { cookieSession, webSessionsFull } from './common.js';

/** A BMC with no known vendor UI: a plain login form and a console page (profile "unknown"). */
export function genericUi(ctx: Ctx): WebUi {
  const loginPage = (err = '') =>
    page(
      'BMC Login',
      `<div class="box"><h2>BMC Login</h2>${err ? `<p class="err" id="login-error">${err}</p>` : ''}
<form id="login-form" method="post" action="/login"><label>User <input id="username" name="username" autocomplete="username"></label><br>
<label>Password <input id="password" name="password" type="password"></label><br><button id="login" type="submit">Log in</button></form></div>`,
    );
  return {
    handle(req, res) {
      if (req.path === '/' && req.method === 'GET') return (sendHtml(res, 200, loginPage()), true);
      if (req.path === '/login' && req.method === 'POST') {
        const f = formBody(req);
        if (!ctx.checkLogin(f.get('username'), f.get('password')))
          return (sendHtml(res, 401, loginPage('Login failed: invalid username or password.')), true);
        if (webSessionsFull(ctx)) return (sendHtml(res, 503, loginPage('Login failed: too many sessions.')), true);
        const s = ctx.state.createSession('web', f.get('username') ?? '');
        addSetCookie(res, cookie('session', s.token, { httpOnly: true, sameSite: 'Strict' }));
        return (redirect(res, '/kvm', 303), true);
      }
      if (req.path === '/kvm' && req.method === 'GET') {
        if (!cookieSession(ctx, req, 'session')) return (redirect(res, '/'), true);
        return (sendHtml(res, 200, kvmPage(ctx, { wsUrl: '/kvm/ws', title: `KVM - ${ctx.node}` })), true);
      }
      if (req.path === '/logout') {
        const s = cookieSession(ctx, req, 'session');
        if (s) ctx.state.endSession(s, 'web logout');
        addSetCookie(res, cookie('session', '', { maxAge: 0 }));
        return (redirect(res, '/'), true);
      }
      return false;
    },
    kvmUpgrade(u) {
      if (u.path !== '/kvm/ws') return undefined;
      if (!cookieSession(ctx, u, 'session')) return { accept: false, status: 401, message: 'Unauthorized' };
      return {
        accept: true,
        vendorPath: '/kvm/ws',
        overCap: 'busy',
        busyMessage: 'The console is in use by another session.',
      };
    },
  };
}
