/**
 * OpenBMC (bmcweb + webui-vue). Primary: the Redfish session webui-vue itself makes (with
 * X-Requested-With, so bmcweb answers with the XSRF-TOKEN and BMCWEB-SESSION/SESSION cookies) made inside
 * the browser, then the KVM pop-out route #/console/kvm. Fallback: the login form, then #/operations/kvm.
 * Facts: vendor-web-flows.md §5, §9.
 */
import type { ConsoleContext, VendorScript } from '../src/vendor-script.js';
import { failure } from '../src/console-failure.js';
import { hideChrome } from './lib/fullscreen.js';
import { typeInto } from './lib/keys.js';
import { kvmShowing, outcomeFailure, settle, type KvmPage } from './lib/kvm.js';
import { type BrowserRedfishSession, browserSession, deleteBrowserSession, redfishLogout } from './lib/redfish.js';
import { ConsoleState } from './lib/state.js';
import { abortable, appears } from './lib/wait.js';
import { blank, cookie, goto, web } from './lib/web.js';

const viewer: KvmPage = {
  kvm: 'canvas',
  login: '#username',
  busy: 'text=/Max sessions are already connected|too many sessions/i',
  invalid: 'text=/session (has )?expired|unauthori[sz]ed/i',
};

const chrome = {
  // webui-vue's app header, side navigation and the KVM page's toolbar (status, Send Ctrl+Alt+Del, Open in new tab).
  hide: [
    '#app-header',
    'header',
    '.app-header',
    '#navigation',
    '.nav-container',
    '.page-title',
    '.toolbar-container',
    '.kvm-toolbar',
    '#skip-navigation',
  ],
  fill: ['#terminal-kvm', '.kvm-terminal', '#kvm-container'],
};

type ObmcSession = { redfish?: BrowserRedfishSession; web?: boolean };
const sessions = new ConsoleState<ObmcSession>();

export const openbmc: VendorScript = {
  family: 'openbmc',
  displayName: 'OpenBMC',
  matches: (d) => d.family === 'openbmc',

  async open(ctx) {
    await ctx.status('Logging in to OpenBMC (Redfish session)');
    const session = await browserSession(ctx, 'OpenBMC login (Redfish session)', {
      'X-Requested-With': 'XMLHttpRequest',
    });
    sessions.set(ctx, { redfish: session });
    await ctx.status('Opening the OpenBMC KVM');
    await goto(ctx, '/#/console/kvm', 'Opening the OpenBMC KVM');
    // Older webui-vue has no pop-out route and sends us to the overview instead.
    const outcome = await settle(ctx, viewer, 30_000, () => ctx.page.url().includes('#/console/kvm'));
    if (outcome === 'busy') throw outcomeFailure(outcome, 'OpenBMC KVM');
    if (outcome === 'kvm') return done(ctx);
    ctx.log.info({ outcome }, 'the KVM route did not show the console with the Redfish session; using the login form');
    await formLogin(ctx);
  },

  async isAlive(ctx) {
    return kvmShowing(ctx.page, viewer);
  },

  async close(ctx) {
    const s = sessions.take(ctx);
    await blank(ctx);
    const csrf = await cookie(ctx, 'XSRF-TOKEN');
    const headers: Record<string, string> = csrf ? { 'X-XSRF-TOKEN': csrf } : {};
    if (s?.redfish) await deleteBrowserSession(ctx, s.redfish, headers);
    if (s?.web)
      await web(ctx, '/logout', 'OpenBMC logout', { method: 'POST', data: {}, headers }).catch(() => undefined);
    await redfishLogout(ctx);
  },
};

async function formLogin(ctx: ConsoleContext): Promise<void> {
  await ctx.status('Logging in to OpenBMC (login form)');
  await goto(ctx, '/#/login', 'Opening the OpenBMC login page');
  const user = ctx.page.locator('#username');
  if (!(await appears(user, ctx.signal, 20_000)))
    throw failure('unsupported', 'The OpenBMC login page did not show its login form');
  await typeInto(ctx, user, ctx.bmc.username);
  await typeInto(ctx, ctx.page.locator('#password'), ctx.bmc.password);
  await abortable(
    ctx.signal,
    ctx.page.locator('[data-test-id="login-button-submit"], button[type="submit"]').first().click(),
  );
  (sessions.get(ctx) ?? {}).web = true;
  await ctx.page.waitForURL((u) => !u.hash.startsWith('#/login'), { timeout: 20_000 }).catch(() => undefined);
  if (new URL(ctx.page.url()).hash.startsWith('#/login'))
    throw failure('auth', 'OpenBMC rejected the user name or password');
  await goto(ctx, '/#/operations/kvm', 'Opening the OpenBMC KVM');
  const f = outcomeFailure(await settle(ctx, viewer), 'OpenBMC KVM');
  if (f) throw f;
  await done(ctx);
}

async function done(ctx: ConsoleContext): Promise<void> {
  await hideChrome(ctx, chrome);
  await ctx.status('OpenBMC KVM ready');
}
