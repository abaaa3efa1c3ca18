/**
 * Dell iDRAC. iDRAC9 (>= 5.00) and iDRAC10: Redfish GetKVMSession one-time credentials on the discovered
 * manager -> /restgui/vconsole viewer; without the action: the web API login (header credentials) ->
 * /sysmgmt/2015/server/vconsole -> its Location; last resort the login form at /restgui/start.html?console.
 * iDRAC7/8: the login form at /login.html?console, whose console opens in a popup.
 * Facts: shared/docs/vendor-web-flows.md §1, §9.
 */
import { randomBytes } from 'node:crypto';
import type { ConsoleContext, VendorScript } from '../src/vendor-script.js';
import { failure, httpFailure } from '../src/console-failure.js';
import { hideChrome } from './lib/fullscreen.js';
import { typeInto } from './lib/keys.js';
import { kvmShowing, outcomeFailure, settle, type KvmPage } from './lib/kvm.js';
import { adoptPopup } from './lib/popup.js';
import { managerPath, redfishLogout, rfPost, rfProbe } from './lib/redfish.js';
import { ConsoleState } from './lib/state.js';
import { appears } from './lib/wait.js';
import { blank, bmcHost, goto, jsonOf, web } from './lib/web.js';

const viewer: KvmPage = {
  kvm: 'canvas',
  login: 'input[name="username"], #user',
  busy: 'text=/session is shared|console is in use|held by another|sharing request/i',
  invalid: 'text=/not valid or has expired|invalid session|session expired|access denied/i',
};

const chrome = {
  hide: ['app-header', '.app-header', '#noVNC_control_bar_anchor', '#noVNC_status', '.vconsole-toolbar', 'nav'],
  fill: ['#noVNC_container', '#kvmCanvas', '#screen'],
};

type IdracSession = { kind: 'redfish' } | { kind: 'web'; xsrf: string } | { kind: 'form' } | { kind: 'legacy' };
const sessions = new ConsoleState<IdracSession>();

export const idrac: VendorScript = {
  family: 'idrac',
  displayName: 'Dell iDRAC',
  matches: (d) => d.family === 'idrac',

  async open(ctx) {
    const gen = ctx.discovery.generation;
    if (gen === '7' || gen === '8') return openLegacy(ctx);

    const creds = await kvmSessionCredentials(ctx);
    if (creds) {
      sessions.set(ctx, { kind: 'redfish' });
      await ctx.status('Opening the iDRAC virtual console');
      const q = new URLSearchParams({
        ip: bmcHost(ctx),
        kvmport: kvmPort(ctx),
        title: ctx.node ?? 'console',
        VCSID: creds.user,
        VCSID2: creds.pass,
      });
      await goto(ctx, `/restgui/vconsole/index.html?${q}`, 'Opening the iDRAC virtual console');
      await showKvm(ctx);
      return;
    }

    await ctx.status('Logging in to the iDRAC web API');
    const xsrf = await webLogin(ctx);
    if (xsrf !== null) {
      sessions.set(ctx, { kind: 'web', xsrf });
      const location = await vconsoleLocation(ctx, xsrf);
      await ctx.status('Opening the iDRAC virtual console');
      await goto(ctx, location, 'Opening the iDRAC virtual console');
      await showKvm(ctx);
      return;
    }

    await openWithForm(ctx);
  },

  async isAlive(ctx) {
    return kvmShowing(ctx.page, viewer);
  },

  async close(ctx) {
    const s = sessions.take(ctx);
    // Leaving the viewer sends its window-close message, which frees the console slot (§1.1 Logout).
    await blank(ctx);
    if (s?.kind === 'web' || s?.kind === 'form') {
      const headers: Record<string, string> = s.kind === 'web' ? { 'XSRF-TOKEN': s.xsrf } : {};
      await web(ctx, '/sysmgmt/2015/bmc/session', 'iDRAC logout', { method: 'DELETE', headers }).catch((e: unknown) =>
        ctx.log.warn({ err: String(e) }, 'iDRAC web logout failed'),
      );
    } else if (s?.kind === 'legacy') {
      await web(ctx, '/data/logout', 'iDRAC logout').catch((e: unknown) =>
        ctx.log.warn({ err: String(e) }, 'iDRAC logout failed'),
      );
    }
    await redfishLogout(ctx);
  },
};

function kvmPort(ctx: ConsoleContext): string {
  const u = new URL(ctx.bmc.origin);
  return u.port || (u.protocol === 'http:' ? '80' : '443');
}

/** GetKVMSession when the manager advertises it (iDRAC9 >= 5.00); null when absent. */
async function kvmSessionCredentials(ctx: ConsoleContext): Promise<{ user: string; pass: string } | null> {
  await ctx.status('Getting console credentials from iDRAC (Redfish)');
  const service = `${managerPath(ctx, 'iDRAC.Embedded.1')}/Oem/Dell/DelliDRACCardService`;
  const svc = await rfProbe(ctx, service, 'Reading the iDRAC card service');
  const actions = svc?.Actions as Record<string, { target?: unknown } | undefined> | undefined;
  const target = actions?.['#DelliDRACCardService.GetKVMSession']?.target;
  if (typeof target !== 'string') {
    ctx.log.info('iDRAC has no GetKVMSession action; using the web login');
    return null;
  }
  const name = randomBytes(16).toString('hex');
  const res = await rfPost(ctx, target, { SessionTypeName: name }, 'Getting console credentials (GetKVMSession)');
  const user = res.TempUsername;
  const pass = res.TempPassword;
  if (typeof user !== 'string' || typeof pass !== 'string' || !user || !pass)
    throw failure('bmc-error', 'GetKVMSession answered without TempUsername/TempPassword');
  return { user, pass };
}

/** The iDRAC9 web login (credentials in quoted headers). XSRF token, or null when this API is absent. */
async function webLogin(ctx: ConsoleContext): Promise<string | null> {
  const q = (s: string): string => `"${s.replace(/(["\\])/g, '\\$1')}"`;
  const res = await web(ctx, '/sysmgmt/2015/bmc/session', 'iDRAC web login', {
    method: 'POST',
    headers: { user: q(ctx.bmc.username), password: q(ctx.bmc.password) },
  });
  if (res.status() === 404 || res.status() === 405) return null;
  const body = await jsonOf(res);
  const result = body?.authResult;
  if (res.status() === 401 || res.status() === 403 || (typeof result === 'number' && ![0, 7, 9].includes(result))) {
    if (result === 5 || result === 8)
      throw failure(
        'kvm-busy',
        'iDRAC has no free web session',
        'Log out other iDRAC web sessions or wait for them to time out',
      );
    throw failure('auth', 'The iDRAC rejected the user name or password');
  }
  if (res.status() >= 400) throw httpFailure(res.status(), 'iDRAC web login');
  return res.headers()['xsrf-token'] ?? '';
}

async function vconsoleLocation(ctx: ConsoleContext, xsrf: string): Promise<string> {
  await ctx.status('Asking iDRAC for a console ticket');
  const res = await web(ctx, '/sysmgmt/2015/server/vconsole', 'Asking iDRAC for a console ticket', {
    headers: { 'XSRF-TOKEN': xsrf },
  });
  if (res.status() >= 400) throw httpFailure(res.status(), 'Asking iDRAC for a console ticket');
  const loc = (await jsonOf(res))?.Location;
  if (typeof loc !== 'string' || !loc)
    throw failure(
      'unsupported',
      'The iDRAC virtual console is disabled or not licensed',
      'Enable the virtual console (iDRAC Enterprise or Datacenter licence)',
    );
  // The BMC writes its own idea of its address; keep the path and query on the origin we reach it by.
  const u = new URL(loc, `${ctx.bmc.origin}/`);
  return `${u.pathname}${u.search}`;
}

async function openWithForm(ctx: ConsoleContext): Promise<void> {
  await ctx.status('Logging in to iDRAC (login form)');
  await goto(ctx, '/restgui/start.html?console', 'Opening the iDRAC login page');
  const user = ctx.page.locator('input[name="username"]');
  if (!(await appears(user, ctx.signal, 20_000)))
    throw failure(
      'unsupported',
      'The iDRAC login page did not show its login form',
      'Check that the address is an iDRAC9 web interface',
    );
  await typeInto(ctx, user, ctx.bmc.username);
  await typeInto(ctx, ctx.page.locator('input[name="password"]'), ctx.bmc.password);
  sessions.set(ctx, { kind: 'form' });
  const url = await adoptPopup(ctx, () => ctx.page.locator('button.cux-button').first().click());
  if (
    !url &&
    (await ctx.page
      .locator('input[name="password"]')
      .isVisible()
      .catch(() => false))
  )
    throw failure('auth', 'The iDRAC rejected the user name or password');
  await showKvm(ctx);
}

/**
 * iDRAC7/8: form at /login.html?console; after login the console opens in a popup (straight away with the
 * deep link, else from the Launch link in the 'da' frame). A default-password interstitial may come first.
 */
async function openLegacy(ctx: ConsoleContext): Promise<void> {
  await ctx.status('Logging in to iDRAC (login form)');
  await goto(ctx, '/login.html?console', 'Opening the iDRAC login page');
  const user = ctx.page.locator('#user');
  if (!(await appears(user, ctx.signal, 20_000)))
    throw failure('unsupported', 'The iDRAC login page did not show its login form');
  await typeInto(ctx, user, ctx.bmc.username);
  await typeInto(ctx, ctx.page.locator('#password'), ctx.bmc.password);
  sessions.set(ctx, { kind: 'legacy' });
  const keep = ctx.page.locator('#keeppassword');
  const loginError = ctx.page.locator('#login_error:not(:empty)');
  const frameset = ctx.page.locator('frame[name="da"]');
  let url = await adoptPopup(ctx, () => ctx.page.getByRole('link', { name: 'Submit' }).click(), {
    stopWhen: async () => (await keep.isVisible()) || (await loginError.isVisible()) || (await frameset.count()) > 0,
  });
  if (!url && (await loginError.isVisible().catch(() => false))) {
    const msg = (await loginError.textContent())?.trim() ?? '';
    if (/authResult 5/.test(msg))
      throw failure(
        'kvm-busy',
        'iDRAC has no free web session (session table full)',
        'Log out of other iDRAC sessions or wait for them to time out',
      );
    throw failure('auth', 'The iDRAC rejected the user name or password');
  }
  if (!url && (await keep.isVisible().catch(() => false))) {
    await keep.check();
    url = await adoptPopup(ctx, () => ctx.page.getByRole('link', { name: 'Continue' }).click(), {
      stopWhen: async () => (await frameset.count()) > 0,
    });
  }
  if (!url) {
    // No console deep link on this firmware: the Launch link in the 'da' frame opens it.
    await ctx.status('Launching the iDRAC virtual console');
    const launch = ctx.page.frameLocator('frame[name="da"]').getByRole('link', { name: 'Launch' });
    if (!(await appears(launch, ctx.signal, 20_000)))
      throw failure(
        'unsupported',
        'iDRAC did not offer its virtual console',
        'Set Virtual Console > Plug-in Type to HTML5 in the iDRAC web UI',
      );
    url = await adoptPopup(ctx, () => launch.click());
    if (!url)
      throw failure(
        'unsupported',
        'iDRAC did not open its HTML5 console',
        'Set Virtual Console > Plug-in Type to HTML5 in the iDRAC web UI',
      );
  }
  await showKvm(ctx);
}

async function showKvm(ctx: ConsoleContext): Promise<void> {
  await ctx.status('Waiting for the iDRAC console video');
  const f = outcomeFailure(await settle(ctx, viewer), 'iDRAC virtual console');
  if (f) throw f;
  await hideChrome(ctx, chrome);
  await ctx.status('iDRAC console ready');
}
