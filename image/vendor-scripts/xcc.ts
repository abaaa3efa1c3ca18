/**
 * Lenovo XClarity Controller (XCC, XCC2, XCC3). Primary: the Redfish one-shot console token
 * (LenovoRemoteControlService.GetRemoteConsoleToken) opened as /#/login?<Token>&context=remote&mode=multi
 * (multi = shared mode, so we never take the console away from someone else). Fallback: the web login form,
 * then the console launch. The viewer's socket is on a second TLS port (3900 on real XCCs) with a certificate of its
 * own: with verify_ca false the browser pins it too, found as Redfish's KVMIP port (supervisor/browser-trust.ts)
 * (XCC3's form login may take the OpenBMC way instead: /kvm/0 on 443). Ironic has no Lenovo
 * support; the flow is confluent's. Facts: vendor-web-flows.md §3, §9.
 */
import type { ConsoleContext, VendorScript } from '../src/vendor-script.js';
import { failure } from '../src/console-failure.js';
import { hideChrome } from './lib/fullscreen.js';
import { typeInto } from './lib/keys.js';
import { kvmShowing, outcomeFailure, outcomeNow, settle, type KvmPage } from './lib/kvm.js';
import { adoptPopup } from './lib/popup.js';
import { managerPath, redfishLogout, rfPost, rfProbe } from './lib/redfish.js';
import { ConsoleState } from './lib/state.js';
import { abortable, appears, firstOf } from './lib/wait.js';
import { blank, cookie, goto, web } from './lib/web.js';

const viewer: KvmPage = {
  kvm: 'canvas',
  busy: 'text=/session (is )?in use|session full|no share available|preempted/i',
  invalid: 'text=/invalid token|token expired/i',
};
/** The login form (XCC's DOM ids are not public: match by role of the fields). */
const LOGIN_USER = '#username, #user, input[name="username"], input[autocomplete="username"]';
const LOGIN_PASS = 'input[type="password"]';

const chrome = {
  hide: ['.rp-toolbar', '#rpToolbar', '.viewer-toolbar', 'header', '.navbar', '.footer'],
  fill: ['#kvm-wrap', '#rpViewerContainer'],
};

const sessions = new ConsoleState<{ kind: 'token' } | { kind: 'web'; bearer?: string }>();

export const xcc: VendorScript = {
  family: 'xcc',
  displayName: 'Lenovo XClarity Controller',
  matches: (d) => d.family === 'xcc',

  async open(ctx) {
    const token = await consoleToken(ctx);
    if (token) {
      sessions.set(ctx, { kind: 'token' });
      await ctx.status('Opening the XCC remote console');
      await goto(ctx, `/#/login?${token}&context=remote&mode=multi`, 'Opening the XCC remote console');
      const outcome = await settle(ctx, viewer);
      if (outcome === 'kvm') return done(ctx);
      if (outcome === 'busy') throw outcomeFailure(outcome, 'XCC remote console');
      ctx.log.info({ outcome }, 'the XCC console token did not open the console; using the login form');
    }
    await formLogin(ctx);
  },

  async isAlive(ctx) {
    return kvmShowing(ctx.page, viewer);
  },

  async close(ctx) {
    const s = sessions.take(ctx);
    if (s?.kind === 'web') {
      const bearer = await ctx.page.evaluate(() => sessionStorage.getItem('access_token')).catch(() => null);
      await blank(ctx);
      // XCC3's OpenBMC-style web session (cookies SESSION + XSRF-TOKEN, no bearer) ends with POST /logout.
      const obmcCsrf = bearer ? undefined : await cookie(ctx, 'XSRF-TOKEN');
      const csrf = obmcCsrf ?? (await cookie(ctx, '_csrf_token'));
      const headers: Record<string, string> = {};
      if (bearer) headers.Authorization = `Bearer ${bearer}`;
      if (csrf) headers['X-XSRF-TOKEN'] = csrf;
      const res = await web(ctx, obmcCsrf ? '/logout' : '/api/providers/logout', 'XCC logout', {
        method: 'POST',
        headers,
      }).catch((e: unknown) => {
        ctx.log.warn({ err: String(e) }, 'XCC logout failed');
      });
      if (res && res.status() >= 400) ctx.log.warn({ status: res.status() }, 'XCC logout failed');
    } else await blank(ctx);
    await redfishLogout(ctx);
  },
};

/** GetRemoteConsoleToken when the RemoteControl service offers it; null when absent. */
async function consoleToken(ctx: ConsoleContext): Promise<string | null> {
  await ctx.status('Getting a console token from XCC (Redfish)');
  const base = `${managerPath(ctx, '1')}/Oem/Lenovo/RemoteControl`;
  const svc = await rfProbe(ctx, base, 'Reading the XCC remote control service');
  if (!svc) return null;
  const actions = svc.Actions as Record<string, { target?: unknown } | undefined> | undefined;
  const advertised = actions?.['#LenovoRemoteControlService.GetRemoteConsoleToken']?.target;
  if (actions && typeof advertised !== 'string') {
    ctx.log.info('XCC does not advertise GetRemoteConsoleToken; using the login form');
    return null;
  }
  const target =
    typeof advertised === 'string' ? advertised : `${base}/Actions/LenovoRemoteControlService.GetRemoteConsoleToken`;
  try {
    const res = await rfPost(ctx, target, {}, 'Getting a console token (GetRemoteConsoleToken)');
    const token = res.Token;
    if (typeof token !== 'string' || !token)
      throw failure('bmc-error', 'GetRemoteConsoleToken answered without a Token');
    return token;
  } catch (e) {
    if (e instanceof Error && 'kind' in e && (e as { kind: string }).kind === 'unsupported') return null;
    throw e;
  }
}

async function formLogin(ctx: ConsoleContext): Promise<void> {
  await ctx.status('Logging in to XCC (login form)');
  await goto(ctx, '/#/login', 'Opening the XCC login page');
  const pass = ctx.page.locator(LOGIN_PASS).first();
  if (!(await appears(pass, ctx.signal, 20_000)))
    throw failure('unsupported', 'The XCC login page did not show its login form');
  await typeInto(ctx, ctx.page.locator(LOGIN_USER).first(), ctx.bmc.username);
  await typeInto(ctx, pass, ctx.bmc.password);
  sessions.set(ctx, { kind: 'web' });
  await abortable(ctx.signal, ctx.page.locator('button[type="submit"]').first().click());
  const launch = ctx.page.getByRole('button', { name: /Remote Console/i }).first();
  const after = await firstOf(
    ctx.page,
    { launch: 'button:has-text("Remote Console")', failed: 'text=/Login failed|invalid user|locked/i' },
    ctx.signal,
    20_000,
  );
  if (after === 'failed') throw failure('auth', 'XCC rejected the user name or password');
  if (after === null) throw failure('unsupported', 'The XCC web UI did not offer its remote console after login');
  await ctx.status('Opening the XCC remote console');
  // The console opens in place or in a new window, depending on the firmware's setting.
  await adoptPopup(ctx, () => launch.click(), { stopWhen: async () => (await outcomeNow(ctx.page, viewer)) !== null });
  const outcome = await settle(ctx, viewer);
  const f = outcomeFailure(outcome, 'XCC remote console');
  if (f) throw f;
  await done(ctx);
}

async function done(ctx: ConsoleContext): Promise<void> {
  await hideChrome(ctx, chrome);
  await ctx.status('XCC console ready');
}
