/**
 * Lenovo XClarity Controller (XCC, XCC2, XCC3). Primary: the Redfish one-shot console token
 * (LenovoRemoteControlService.GetRemoteConsoleToken) opened as /#/login?<Token>&context=remote&mode=multi
 * (multi = shared mode, so we never take the console away from someone else). Fallback: the web login form,
 * then the console launch. Ironic has no Lenovo support; the flow is confluent's. Facts: vendor-web-flows.md §3, §9.
 */
import type { ConsoleContext, VendorScript } from 'bmc-console/vendor-script';
import { failure } from './lib/failure.js';
import { hideChrome } from './lib/fullscreen.js';
import { typeInto } from './lib/keys.js';
import { busyFailure, kvmShowing, settle, type KvmPage } from './lib/kvm.js';
import { adoptPopup } from './lib/popup.js';
import { managerPath, redfishLogout, rfPost, rfProbe } from './lib/redfish.js';
import { ConsoleState } from './lib/state.js';
import { abortable, appears } from './lib/wait.js';
import { blank, cookie, goto, web } from './lib/web.js';

const viewer: KvmPage = {
  kvm: 'canvas',
  login: 'input[type="password"]',
  busy: 'text=/session (is )?in use|session full|no share available|preempted/i',
  invalid: 'text=/invalid token|token expired|session expired/i',
};

const chrome = {
  hide: ['.rp-toolbar', '#rpToolbar', '.viewer-toolbar', 'header', '.navbar', '.footer'],
  fill: ['#rpViewerContainer', '.rp-viewer', '#kvmContainer'],
};

const sessions = new ConsoleState<{ kind: 'token' } | { kind: 'web' }>();

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
      if (outcome === 'busy') throw busyFailure('XCC');
      ctx.log.info({ outcome }, 'the XCC console token did not open the console; using the login form');
    }
    await formLogin(ctx);
  },

  async isAlive(ctx) {
    return kvmShowing(ctx.page, viewer);
  },

  async close(ctx) {
    const s = sessions.take(ctx);
    await blank(ctx);
    if (s?.kind === 'web') {
      const csrf = await cookie(ctx, '_csrf_token');
      await web(ctx, '/api/providers/logout', 'XCC logout', { method: 'POST', data: {}, headers: csrf ? { 'X-XSRF-TOKEN': csrf } : {} }).catch(
        (e: unknown) => ctx.log.warn({ err: String(e) }, 'XCC logout failed'),
      );
    }
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
  const target = typeof advertised === 'string' ? advertised : `${base}/Actions/LenovoRemoteControlService.GetRemoteConsoleToken`;
  try {
    const res = await rfPost(ctx, target, {}, 'Getting a console token (GetRemoteConsoleToken)');
    const token = res.Token;
    if (typeof token !== 'string' || !token) throw failure('bmc-error', 'GetRemoteConsoleToken answered without a Token');
    return token;
  } catch (e) {
    if (e instanceof Error && 'kind' in e && (e as { kind: string }).kind === 'unsupported') return null;
    throw e;
  }
}

async function formLogin(ctx: ConsoleContext): Promise<void> {
  await ctx.status('Logging in to XCC (login form)');
  await goto(ctx, '/#/login', 'Opening the XCC login page');
  const pass = ctx.page.locator('input[type="password"]').first();
  if (!(await appears(pass, ctx.signal, 20_000))) throw failure('unsupported', 'The XCC login page did not show its login form');
  const user = ctx.page.locator('#username, input[name="username"], input[type="text"]').first();
  await typeInto(ctx, user, ctx.bmc.username);
  await typeInto(ctx, pass, ctx.bmc.password);
  sessions.set(ctx, { kind: 'web' });
  await abortable(ctx.signal, ctx.page.locator('button[type="submit"], #login-btn, button:has-text("Log In")').first().click());
  // After login the home page offers the remote console; it opens in a new window.
  const launch = ctx.page.locator('text=/Launch Remote Console|Remote Console/i').first();
  if (!(await appears(launch, ctx.signal, 20_000))) {
    if (await pass.isVisible().catch(() => false)) throw failure('auth', 'XCC rejected the user name or password');
    throw failure('unsupported', 'The XCC web UI did not offer its remote console');
  }
  await ctx.status('Opening the XCC remote console');
  const url = await adoptPopup(ctx, () => launch.click());
  if (!url) ctx.log.info('the XCC console opened in place');
  const outcome = await settle(ctx, viewer);
  if (outcome === 'busy') throw busyFailure('XCC');
  if (outcome !== 'kvm') throw failure('bmc-error', 'The XCC remote console did not show any video');
  await done(ctx);
}

async function done(ctx: ConsoleContext): Promise<void> {
  await hideChrome(ctx, chrome);
  await ctx.status('XCC console ready');
}
