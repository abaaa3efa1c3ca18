/**
 * Supermicro BMC. Primary when the BMC offers it: Redfish Oem/Supermicro/IKVM gives a one-shot console page
 * URI (after selecting "HTML 5" when it says "JAVA plug-in"); the page needs the X-Auth-Token of a Redfish session
 * and its WebSocket the SID cookie that session sets (X13/H13; older firmware: from /cgi/login.cgi). Otherwise the
 * classic ATEN web UI as Ironic drives it: the login form, then the main menu's host preview, which opens the iKVM
 * window; with no preview (host off) the HTML5 iKVM bootstrap page directly; without the form, /cgi/login.cgi
 * (base64, then plain credentials) and the bootstrap page. Facts: vendor-web-flows.md §4, §9.
 */
import type { ConsoleContext, VendorScript } from '../src/vendor-script.js';
import { failure, httpFailure } from '../src/console-failure.js';
import { frameWith } from './lib/frames.js';
import { hideChrome } from './lib/fullscreen.js';
import { typeInto } from './lib/keys.js';
import { kvmShowing, outcomeFailure, settle, type KvmPage } from './lib/kvm.js';
import { adoptPopup } from './lib/popup.js';
import {
  browserSession,
  deleteBrowserSession,
  managerPath,
  redfishLogout,
  rfPatch,
  rfProbe,
  type BrowserRedfishSession,
} from './lib/redfish.js';
import { ConsoleState } from './lib/state.js';
import { abortable, appears, firstOf } from './lib/wait.js';
import { blank, cookie, goto, web } from './lib/web.js';

const BOOTSTRAP = '/cgi/url_redirect.cgi?url_name=man_ikvm_html5_bootstrap';

const viewer: KvmPage = {
  kvm: 'canvas',
  login: '#pwd, input[name="pwd"]',
  busy: 'text=/maximum number of|already (in use|connected)|console is busy|session is full/i',
  invalid: 'text=/session (has )?expired|invalid session|please login/i',
};

const chrome = {
  hide: ['#VideoRecordingModal', 'nav.navbar', '.modal-backdrop', '#toolbar', '.ikvm-toolbar', '#noVNC_status_bar'],
  fill: ['#noVNC_screen', '#noVNC_container'],
};

type SmcSession = { redfish?: BrowserRedfishSession; web?: boolean };
const sessions = new ConsoleState<SmcSession>();

export const supermicro: VendorScript = {
  family: 'smc-bmc',
  displayName: 'Supermicro BMC',
  matches: (d) => d.family === 'smc-bmc',

  async open(ctx) {
    sessions.set(ctx, {});
    if (await viaRedfishIkvm(ctx)) return done(ctx);
    if (await viaForm(ctx)) return done(ctx);
    if (await viaLoginCgi(ctx)) return done(ctx);
    throw failure(
      'unsupported',
      'This Supermicro BMC offers neither the Redfish iKVM link nor the classic login',
      'Update the BMC firmware or enable the HTML5 iKVM',
    );
  },

  async isAlive(ctx) {
    return kvmShowing(ctx.page, viewer);
  },

  async close(ctx) {
    const s = sessions.take(ctx);
    await ctx.page.setExtraHTTPHeaders({}).catch(() => undefined);
    await blank(ctx);
    // The Redfish session owns the SID cookie it set: deleting it ends both. A web login ends with logout.cgi.
    if (s?.redfish) await deleteBrowserSession(ctx, s.redfish);
    if (s?.web) {
      const csrf = await cookie(ctx, 'CSRF-TOKEN');
      await web(ctx, '/cgi/logout.cgi', 'Supermicro logout', { headers: csrf ? { 'CSRF-TOKEN': csrf } : {} }).catch(
        (e: unknown) => ctx.log.warn({ err: String(e) }, 'Supermicro web logout failed'),
      );
    }
    await redfishLogout(ctx);
  },
};

/** X13-style: Redfish session (X-Auth-Token + SID cookie) -> IKVM resource -> its URI. False when not offered. */
async function viaRedfishIkvm(ctx: ConsoleContext): Promise<boolean> {
  await ctx.status('Asking the Supermicro BMC for an iKVM link (Redfish)');
  const path = `${managerPath(ctx, '1')}/Oem/Supermicro/IKVM`;
  let ikvm = await rfProbe(ctx, path, 'Reading the Supermicro IKVM resource');
  if (!ikvm) return false;
  if (typeof ikvm.URI !== 'string') {
    // "JAVA plug-in" hides the URI; the HTML5 interface must be selected first (documented PATCH).
    ctx.log.info({ current: ikvm['Current interface'] }, 'IKVM has no URI; selecting the HTML 5 interface');
    try {
      await rfPatch(ctx, path, { 'Current interface': 'HTML 5' }, 'Selecting the HTML 5 iKVM interface');
    } catch (e) {
      if (e instanceof Error && e.name === 'AbortError') throw e;
      ctx.log.info({ err: e instanceof Error ? e.message : String(e) }, 'could not select the HTML 5 iKVM interface');
      return false;
    }
    ikvm = await rfProbe(ctx, path, 'Reading the Supermicro IKVM resource');
    if (typeof ikvm?.URI !== 'string') return false;
  }
  await ctx.status('Logging in to the Supermicro BMC (Redfish session)');
  const session = await browserSession(ctx, 'Supermicro login (Redfish session)');
  (sessions.get(ctx) ?? {}).redfish = session;
  if (!(await cookie(ctx, 'SID'))) {
    // Older firmware: the Redfish session sets no SID, but the console socket needs one (vendor-web-flows.md §4.3).
    ctx.log.info('the Redfish session set no SID cookie; logging in to the web UI for one');
    await cgiLogin(ctx);
  }
  // The URI is one-shot: fetch it again after logging in, with the session.
  const fresh = await rfProbe(ctx, path, 'Reading the Supermicro IKVM resource');
  const uri = typeof fresh?.URI === 'string' ? fresh.URI : (ikvm.URI as string);
  if (session.token) await ctx.page.setExtraHTTPHeaders({ 'X-Auth-Token': session.token });
  await ctx.status('Opening the Supermicro iKVM');
  await goto(ctx, uri, 'Opening the Supermicro iKVM');
  const outcome = await settle(ctx, viewer);
  if (outcome === 'kvm') return true;
  if (outcome === 'busy') throw outcomeFailure(outcome, 'Supermicro iKVM');
  ctx.log.info({ outcome }, 'the Redfish iKVM link did not show the console; trying the web login');
  return false;
}

/** The classic ATEN login API: true when logged in (SID cookie set), false when this firmware has no login.cgi. */
async function cgiLogin(ctx: ConsoleContext): Promise<boolean> {
  const b64 = (v: string): string => Buffer.from(v, 'utf8').toString('base64');
  // Newer ATEN firmware wants base64 credentials (check=00), older plain ones (as bmclib tries them).
  const attempts: Record<string, string>[] = [
    { name: b64(ctx.bmc.username), pwd: b64(ctx.bmc.password), check: '00' },
    { name: ctx.bmc.username, pwd: ctx.bmc.password },
  ];
  for (const form of attempts) {
    const res = await web(ctx, '/cgi/login.cgi', 'Supermicro login', { method: 'POST', form });
    if (res.status() === 400 || res.status() === 404) return false;
    if (res.status() >= 500) throw httpFailure(res.status(), 'Supermicro login');
    const body = await res.text();
    if (/too many sessions/i.test(body))
      throw failure(
        'kvm-busy',
        'The Supermicro BMC has no free web session',
        'Log out of other BMC web sessions or wait for them to time out',
      );
    // Old boards answer 200 for failures too; success is the redirect to the main menu.
    if (res.status() < 400 && /url_name=(mainmenu|topmenu)/.test(body)) {
      (sessions.get(ctx) ?? {}).web = true;
      return true;
    }
  }
  throw failure('auth', 'The Supermicro BMC rejected the user name or password');
}

/** Classic ATEN web UI: login.cgi, then the HTML5 iKVM bootstrap page. False when login.cgi is absent. */
async function viaLoginCgi(ctx: ConsoleContext): Promise<boolean> {
  await ctx.status('Logging in to the Supermicro BMC');
  if (!(await cgiLogin(ctx))) return false;
  await ctx.status('Opening the Supermicro iKVM');
  await goto(ctx, BOOTSTRAP, 'Opening the Supermicro iKVM');
  const f = outcomeFailure(await settle(ctx, viewer), 'Supermicro iKVM');
  if (f) throw f;
  return true;
}

/**
 * The classic web UI's login form, then the main menu's host preview, whose click opens the iKVM window (taken into
 * the kiosk page); without a preview (host powered off) the bootstrap page directly. False when there is no form.
 */
async function viaForm(ctx: ConsoleContext): Promise<boolean> {
  await ctx.status('Logging in to the Supermicro BMC (login form)');
  await goto(ctx, '/', 'Opening the Supermicro login page');
  const pwd = ctx.page.locator('#pwd');
  if (!(await appears(pwd, ctx.signal, 10_000))) return false;
  await typeInto(ctx, ctx.page.locator('input[name="name"]'), ctx.bmc.username);
  await typeInto(ctx, pwd, ctx.bmc.password);
  await abortable(ctx.signal, ctx.page.locator('#login_word').click());
  (sessions.get(ctx) ?? {}).web = true;
  const after = await firstOf(
    ctx.page,
    { menu: '#TOPMENU', failed: 'text=/Invalid Username or Password|Too many sessions/i' },
    ctx.signal,
    20_000,
  );
  if (after === 'failed' && (await ctx.page.locator('text=/Too many sessions/i').count()) > 0)
    throw failure(
      'kvm-busy',
      'The Supermicro BMC has no free web session',
      'Log out of other BMC web sessions or wait for them to time out',
    );
  // Firmware whose main menu has no #TOPMENU still lands on url_name=mainmenu with a SID.
  const inMenu = after === 'menu' || (after === null && /url_name=mainmenu/.test(ctx.page.url()));
  if (!inMenu || !(await cookie(ctx, 'SID')))
    throw failure('auth', 'The Supermicro BMC rejected the user name or password');
  await ctx.status('Opening the Supermicro iKVM from the main menu');
  const frame = await frameWith(ctx.page, '#img1, #no_preview', ctx.signal, 15_000);
  const preview =
    frame &&
    (await frame
      .locator('#img1')
      .isVisible()
      .catch(() => false))
      ? frame.locator('#img1')
      : null;
  const opened = preview ? await adoptPopup(ctx, () => preview.click()) : null;
  if (!opened) {
    ctx.log.info('the main menu shows no host preview (host off?); opening the iKVM page directly');
    await goto(ctx, BOOTSTRAP, 'Opening the Supermicro iKVM');
  }
  const f = outcomeFailure(await settle(ctx, viewer), 'Supermicro iKVM');
  if (f) throw f;
  return true;
}

async function done(ctx: ConsoleContext): Promise<void> {
  await hideChrome(ctx, chrome);
  await ctx.status('Supermicro iKVM ready');
}
