/**
 * AMI MegaRAC SP-X (ASRock Rack, Gigabyte, NVIDIA DGX, Lenovo TSM...). Primary: the web login form
 * (#userid / #password / #btn-login), then the H5Viewer (viewer.html) that "Remote Control" opens as a popup,
 * taken into the kiosk page. Fallback: POST /api/session (form-encoded; JSON gets 403) from the browser, the
 * JS-side cookies the SPA would write, then viewer.html. Always DELETE /api/session: SP-X has a small login cap
 * and no way to list sessions. Facts: vendor-web-flows.md §6, §9.
 */
import type { ConsoleContext, VendorScript } from '../src/vendor-script.js';
import { failure, httpFailure } from '../src/console-failure.js';
import { hideChrome } from './lib/fullscreen.js';
import { typeInto } from './lib/keys.js';
import { kvmShowing, outcomeFailure, settle, type KvmPage } from './lib/kvm.js';
import { adoptPopup } from './lib/popup.js';
import { redfishLogout } from './lib/redfish.js';
import { ConsoleState } from './lib/state.js';
import { abortable, appears, firstOf } from './lib/wait.js';
import { blank, cookie, goto, jsonOf, setCookie, web } from './lib/web.js';

const viewer: KvmPage = {
  kvm: 'canvas',
  login: '#userid',
  busy: 'text=/maximum (number of )?sessions|KVM session (is )?(busy|in use)|already in use/i',
  invalid: 'text=/session (has )?expired|invalid session|Invalid Authentication/i',
};

const chrome = {
  hide: ['.main-header', '.main-sidebar', '#viewer-toolbar', '.viewer-toolbar', '.navbar', '#status-bar'],
  fill: ['#viewer', '#kvm', '.kvm-container'],
};

const sessions = new ConsoleState<{ csrf?: string }>();

export const ami: VendorScript = {
  family: 'ami-megarac',
  displayName: 'AMI MegaRAC',
  matches: (d) => d.family === 'ami-megarac',

  async open(ctx) {
    sessions.set(ctx, {});
    if (await formLogin(ctx)) return done(ctx);
    await apiLogin(ctx);
    await done(ctx);
  },

  async isAlive(ctx) {
    return kvmShowing(ctx.page, viewer);
  },

  async close(ctx) {
    const s = sessions.take(ctx);
    await blank(ctx);
    await redfishLogout(ctx);
    if (!s) return;
    const csrf = s.csrf ?? (await cookie(ctx, 'garc')) ?? (await cookie(ctx, '__Host-garc'));
    const res = await web(ctx, '/api/session', 'AMI logout', {
      method: 'DELETE',
      headers: csrf ? { 'X-CSRFTOKEN': csrf } : {},
    }).catch((e: unknown) => ctx.log.warn({ err: String(e) }, 'AMI logout failed'));
    if (res && res.status() >= 400) ctx.log.warn({ status: res.status() }, 'AMI logout failed');
  },
};

/** The SPA's form; true when the viewer shows, false when there is no such form (then the API login). */
async function formLogin(ctx: ConsoleContext): Promise<boolean> {
  await ctx.status('Logging in to the AMI BMC (login form)');
  await goto(ctx, '/', 'Opening the AMI login page');
  const user = ctx.page.locator('#userid');
  // A page with a password field but no #userid is another SP-X build's form: the login API serves it.
  const shown = await firstOf(ctx.page, { form: '#userid', other: 'input[type="password"]' }, ctx.signal, 20_000);
  if (shown !== 'form') return false;
  await typeInto(ctx, user, ctx.bmc.username);
  await typeInto(ctx, ctx.page.locator('#password'), ctx.bmc.password);
  await abortable(ctx.signal, ctx.page.locator('#btn-login').click());
  const after = await firstOf(
    ctx.page,
    {
      busy: 'text=/maximum number|code 15000/i',
      error: 'text=/Could not login|Invalid (user|credentials)|Login failed/i',
      remote: 'text=/Remote Control/i',
    },
    ctx.signal,
    20_000,
  );
  if (after === 'error') throw failure('auth', 'The AMI BMC rejected the user name or password');
  if (after === 'busy')
    throw failure(
      'kvm-busy',
      'The AMI BMC has no free login session (code 15000)',
      'Log out of other BMC web sessions or wait for them to expire',
    );
  if (after === null) throw failure('bmc-error', 'The AMI web UI did not finish logging in');
  const st = sessions.get(ctx);
  if (st) st.csrf = (await cookie(ctx, 'garc')) ?? (await cookie(ctx, '__Host-garc'));
  await ctx.status('Opening the AMI H5Viewer');
  const remote = ctx.page.locator('text=/Remote Control/i').first();
  await abortable(ctx.signal, remote.click());
  const launch = ctx.page.locator('text=/Launch H5Viewer|Launch KVM|H5Viewer/i').first();
  const url = (await appears(launch, ctx.signal, 10_000)) ? await adoptPopup(ctx, () => launch.click()) : null;
  if (!url) await goto(ctx, '/viewer.html', 'Opening the AMI H5Viewer');
  const f = outcomeFailure(await settle(ctx, viewer), 'AMI H5Viewer');
  if (f) throw f;
  return true;
}

async function apiLogin(ctx: ConsoleContext): Promise<void> {
  await ctx.status('Logging in to the AMI BMC');
  const res = await web(ctx, '/api/session', 'AMI login', {
    method: 'POST',
    form: { username: ctx.bmc.username, password: ctx.bmc.password, certlogin: '0' },
  });
  const body = await jsonOf(res);
  if (res.status() === 401 && body?.code === 15000)
    throw failure(
      'kvm-busy',
      'The AMI BMC has no free login session (code 15000)',
      'Log out of other BMC web sessions or wait for them to expire',
    );
  if (res.status() >= 400) throw httpFailure(res.status(), 'AMI login');
  const csrf = body?.CSRFToken;
  if (typeof csrf !== 'string') throw failure('bmc-error', 'The AMI login answered without a CSRFToken');
  const st = sessions.get(ctx);
  if (st) st.csrf = csrf;
  // Cookies the SPA writes from JS after its own login (the viewer reads them).
  await setCookie(ctx, 'garc', csrf);
  for (const k of ['user_id', 'privilege'] as const)
    if (body?.[k] !== undefined) await setCookie(ctx, k, String(body[k]));
  await ctx.status('Opening the AMI H5Viewer');
  await goto(ctx, '/viewer.html', 'Opening the AMI H5Viewer');
  const f = outcomeFailure(await settle(ctx, viewer), 'AMI H5Viewer');
  if (f) throw f;
}

async function done(ctx: ConsoleContext): Promise<void> {
  await hideChrome(ctx, chrome);
  await ctx.status('AMI KVM ready');
}
