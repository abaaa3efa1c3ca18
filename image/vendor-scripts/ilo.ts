/**
 * HPE iLO. iLO 5/6/7: a Redfish session made in the browser context, its X-Auth-Token put in as the web
 * `sessionKey` cookie, then /irc.html (the HTML5 remote console). Fallback: iLO 5's /html/login.html form,
 * iLO 6/7's inline form on /irc.html. iLO 4: the frameset login form, then /irc.html; fallback the cookie path.
 * Facts: shared/docs/vendor-web-flows.md §2, §9.
 */
import type { ConsoleContext, Frame, VendorScript } from '../src/vendor-script.js';
import { failure } from '../src/console-failure.js';
import { frameWith } from './lib/frames.js';
import { hideChrome } from './lib/fullscreen.js';
import { typeInto } from './lib/keys.js';
import { kvmShowing, outcomeFailure, settle, type KvmOutcome, type KvmPage } from './lib/kvm.js';
import { type BrowserRedfishSession, browserSession, deleteBrowserSession, redfishLogout } from './lib/redfish.js';
import { ConsoleState } from './lib/state.js';
import { abortable, sleep } from './lib/wait.js';
import { blank, cookie, goto, setCookie, web } from './lib/web.js';

const irc: KvmPage = {
  kvm: '#rc_video canvas, #videoContainer canvas, canvas#rc_video, canvas',
  login: '#username',
  busy: 'text=/\\bAcquire\\b|in use by another|console is busy/i',
  invalid: 'text=/Invalid session key|session (has )?expired/i',
};

const chrome = {
  hide: [
    '#app-container #videoOuter #videoContainer div.control.windowedMode',
    '#irc_statusbar',
    '#irc_toolbar',
    '.ircToolbar',
  ],
  fill: ['#videoOuter'],
};

type IloSession = { kind: 'redfish'; session: BrowserRedfishSession } | { kind: 'web' };
const sessions = new ConsoleState<IloSession>();

export const ilo: VendorScript = {
  family: 'ilo',
  displayName: 'HPE iLO',
  matches: (d) => d.family === 'ilo',

  async open(ctx) {
    const gen = ctx.discovery.generation;
    if (gen === '4') {
      const outcome = await formLoginIlo4(ctx);
      if (outcome === 'kvm') return done(ctx);
      ctx.log.info({ outcome }, 'iLO 4 form login did not reach the console; trying the Redfish session cookie');
      await dropSession(ctx);
      const second = await viaSessionCookie(ctx);
      if (second === 'kvm') return done(ctx);
      throw outcomeFailure(second, 'iLO 4 remote console') ?? failure('internal', 'unreachable');
    }
    const outcome = await viaSessionCookie(ctx);
    if (outcome === 'kvm') return done(ctx);
    ctx.log.info({ outcome }, 'iLO did not accept the Redfish session as sessionKey; using the login form');
    await dropSession(ctx);
    const second = gen === '5' ? await formLoginIlo5(ctx) : await inlineLogin(ctx);
    if (second === 'kvm') return done(ctx);
    throw outcomeFailure(second, 'iLO remote console') ?? failure('internal', 'unreachable');
  },

  async isAlive(ctx) {
    return kvmShowing(ctx.page, irc);
  },

  async close(ctx) {
    await blank(ctx);
    await dropSession(ctx);
    await redfishLogout(ctx);
  },
};

async function dropSession(ctx: ConsoleContext): Promise<void> {
  const s = sessions.take(ctx);
  if (s?.kind === 'redfish') await deleteBrowserSession(ctx, s.session);
  else if (s?.kind === 'web') {
    const key = await cookie(ctx, 'sessionKey');
    if (key)
      await web(ctx, '/json/login_session', 'iLO logout', {
        method: 'POST',
        data: { method: 'logout', session_key: key },
      }).catch((e: unknown) => ctx.log.warn({ err: String(e) }, 'iLO logout failed'));
  }
}

async function viaSessionCookie(ctx: ConsoleContext): Promise<KvmOutcome | null> {
  await ctx.status('Logging in to iLO (Redfish session)');
  const session = await browserSession(ctx, 'iLO login (Redfish session)');
  sessions.set(ctx, { kind: 'redfish', session });
  if (!session.token) return null;
  await setCookie(ctx, 'sessionKey', session.token);
  await ctx.status('Opening the iLO remote console');
  await goto(ctx, '/irc.html', 'Opening the iLO remote console');
  return checked(ctx, await settle(ctx, irc));
}

/**
 * After a login form was sent: wait for the session cookie, then open /irc.html (iLO 4 and 5). `loginPage`: the
 * address of a login page that goes on to the iLO application by itself once logged in (iLO 5's). Opening /irc.html
 * before it has left would race its navigation, and whichever commits last stays (seen: the application page).
 */
async function ircAfterLogin(ctx: ConsoleContext, loginPage?: string): Promise<KvmOutcome | null> {
  sessions.set(ctx, { kind: 'web' });
  await waitForSessionKey(ctx);
  if (loginPage) await ctx.page.waitForURL((u) => u.href !== loginPage, { timeout: 3_000 }).catch(() => undefined);
  await ctx.page.waitForLoadState('domcontentloaded').catch(() => undefined);
  await ctx.status('Opening the iLO remote console');
  await goto(ctx, '/irc.html', 'Opening the iLO remote console');
  return checked(ctx, await settle(ctx, irc));
}

/** iLO 5: /html/login.html, then /irc.html once the sessionKey cookie exists (as Ironic's Hpe.js). */
async function formLoginIlo5(ctx: ConsoleContext): Promise<KvmOutcome | null> {
  await ctx.status('Logging in to iLO (login form)');
  await goto(ctx, '/html/login.html', 'Opening the iLO login page');
  const loginPage = ctx.page.url();
  await fillLogin(ctx, ctx.page.mainFrame());
  return ircAfterLogin(ctx, loginPage);
}

/** iLO 6/7: /irc.html shows its own login form when there is no session. */
async function inlineLogin(ctx: ConsoleContext): Promise<KvmOutcome | null> {
  await ctx.status('Logging in to iLO (console login form)');
  await ctx.context.clearCookies({ name: 'sessionKey' });
  await goto(ctx, '/irc.html', 'Opening the iLO remote console');
  await fillLogin(ctx, ctx.page.mainFrame());
  sessions.set(ctx, { kind: 'web' });
  await waitForSessionKey(ctx);
  return checked(ctx, await settle(ctx, irc));
}

/** iLO 4: frameset login (#usernameInput / #passwordInput / #ID_LOGON), then /irc.html. */
async function formLoginIlo4(ctx: ConsoleContext): Promise<KvmOutcome | null> {
  await ctx.status('Logging in to iLO 4 (login form)');
  await goto(ctx, '/', 'Opening the iLO login page');
  const frame = await frameWith(ctx.page, '#usernameInput, #login-message', ctx.signal, 20_000);
  if (
    !frame ||
    !(await frame
      .locator('#usernameInput')
      .isVisible()
      .catch(() => false))
  ) {
    const msg = await frame
      ?.locator('#login-message')
      .textContent()
      .catch(() => null);
    ctx.log.info({ message: msg ?? null }, 'the iLO 4 login form is not available');
    return null;
  }
  await typeInto(ctx, frame.locator('#usernameInput'), ctx.bmc.username);
  await typeInto(ctx, frame.locator('#passwordInput'), ctx.bmc.password);
  await abortable(ctx.signal, frame.locator('#ID_LOGON').click());
  return ircAfterLogin(ctx);
}

async function fillLogin(ctx: ConsoleContext, frame: Frame): Promise<void> {
  const user = frame.locator('#username');
  try {
    // The username field starts disabled on iLO 6 until the page's scripts are ready.
    await abortable(ctx.signal, user.waitFor({ state: 'visible', timeout: 20_000 }));
    await abortable(ctx.signal, frame.locator('#username:not([disabled])').waitFor({ timeout: 20_000 }));
  } catch (e) {
    if (e instanceof Error && e.name === 'AbortError') throw e;
    throw failure('unsupported', 'The iLO login form did not appear', 'Check that the address is an iLO web interface');
  }
  await typeInto(ctx, user, ctx.bmc.username);
  await typeInto(ctx, frame.locator('#password'), ctx.bmc.password);
  await abortable(ctx.signal, frame.locator('#login-form__submit').click());
}

/** After a form login: the sessionKey cookie, or the form's error message (wrong password, login delayed). */
async function waitForSessionKey(ctx: ConsoleContext): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (await cookie(ctx, 'sessionKey')) return;
    for (const f of ctx.page.frames()) {
      const el = f.locator('#login-message').first();
      if ((await el.count().catch(() => 0)) === 0) continue;
      const msg = (await el.textContent({ timeout: 1_000 }).catch(() => null))?.trim();
      if (!msg) continue;
      if (/delay/i.test(msg))
        throw failure(
          'kvm-busy',
          `iLO delays logins after failed attempts: ${msg}`,
          'Wait a few minutes before reconnecting; check the password',
        );
      if (/free session|no more/i.test(msg))
        throw failure(
          'kvm-busy',
          `iLO has no free session: ${msg}`,
          'Log out of other iLO sessions or wait for them to time out',
        );
      throw failure('auth', `iLO rejected the login: ${msg}`);
    }
    await sleep(200, ctx.signal);
  }
  throw failure('auth', 'iLO rejected the user name or password (no session after login)');
}

function checked(ctx: ConsoleContext, outcome: KvmOutcome | null): KvmOutcome | null {
  if (outcome === 'busy') throw outcomeFailure(outcome, 'iLO remote console');
  ctx.log.debug({ outcome }, 'iLO console page');
  return outcome;
}

async function done(ctx: ConsoleContext): Promise<void> {
  await hideChrome(ctx, chrome);
  await ctx.status('iLO console ready');
}
