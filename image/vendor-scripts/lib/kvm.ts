/**
 * Recognising the end states of a console page: the KVM showing, a login form (again), or a message the
 * vendor shows instead of the KVM (busy, invalid session). Each script lists its vendor's selectors; the
 * viewer state some viewers publish as <body data-kvm="connecting|ok|busy|shared|denied|error|closed"> (the
 * bmc-emulator's viewer does) is understood for every vendor.
 */
import type { Page } from '../../src/cdp/page.js';
import type { ConsoleContext } from '../../src/vendor-script.js';
import { failure } from '../../src/console-failure.js';
import { lookQuietly, QuietSelectorError } from './quiet.js';
import { sleep } from './wait.js';

/** A vendor's selectors, in the locators' syntax (lib/quiet.ts checks them with the driver's selector engine). */
export interface KvmPage {
  /** The KVM video (a canvas in every HTML5 viewer). */
  kvm: string;
  /** The vendor's login form, shown when there is no (longer a) session. */
  login?: string;
  /** Selectors of texts/dialogs meaning "someone else holds the console". */
  busy?: string;
  /** Selectors of texts meaning "session invalid / expired". */
  invalid?: string;
}

/** kvm: video showing; login: a login form; busy: held by someone else; invalid: session/ticket refused; ended: viewer says the session ended or failed. */
export type KvmOutcome = 'kvm' | 'login' | 'busy' | 'invalid' | 'ended';

/** The viewer state some viewers publish on <body data-kvm>, as an outcome (undefined: still connecting, or "ok"). */
const STATE_OUTCOME: Record<string, KvmOutcome> = {
  busy: 'busy',
  shared: 'busy',
  denied: 'invalid',
  error: 'ended',
  closed: 'ended',
};

/**
 * One look at the page. Null while it is still loading/connecting. It runs every 150 ms while a KVM opens and every
 * ALIVE_POLL_MS while it shows, so it is one round trip (the viewer state and whether the first match of each
 * selector is visible), through lookQuietly, with no user gesture (one would keep the BMC's page activated, free to
 * open windows, for as long as the KVM shows).
 */
export async function outcomeNow(page: Page, sel: KvmPage): Promise<KvmOutcome | null> {
  if (page.isClosed()) return 'ended';
  const seen = await lookQuietly(page, { busy: sel.busy, invalid: sel.invalid, login: sel.login, kvm: sel.kvm }).catch(
    (err: unknown) => {
      if (err instanceof QuietSelectorError) throw err;
      return null; // navigating, or closed meanwhile: nothing to see yet
    },
  );
  if (!seen) return null;
  const fromState = seen.state === null ? undefined : STATE_OUTCOME[seen.state];
  // The order of precedence: busy, invalid, ended, login, the video.
  if (fromState === 'busy' || seen.shown.busy) return 'busy';
  if (fromState === 'invalid' || seen.shown.invalid) return 'invalid';
  if (fromState === 'ended') return 'ended';
  if (seen.shown.login) return 'login';
  if ((seen.state === null || seen.state === 'ok') && seen.shown.kvm) return 'kvm';
  return null;
}

const LOGIN_SETTLE_MS = 1500;

/** Waits until the page settles in one of the outcomes; null on timeout. */
export async function settle(
  ctx: ConsoleContext,
  sel: KvmPage,
  timeoutMs = 30_000,
  /** Polled: false means the page went somewhere else (an SPA routed away), so stop waiting (null). */
  stillThere?: () => boolean,
): Promise<KvmOutcome | null> {
  const deadline = Date.now() + timeoutMs;
  // A login form still on screen just after a login was sent is the page on its way to the console, not an answer:
  // it counts only once it has stayed for LOGIN_SETTLE_MS.
  let loginSince: number | undefined;
  for (;;) {
    const o = await outcomeNow(ctx.page, sel);
    loginSince = o === 'login' ? (loginSince ?? Date.now()) : undefined;
    if (o && (o !== 'login' || Date.now() - loginSince! >= LOGIN_SETTLE_MS || Date.now() >= deadline)) return o;
    if (stillThere && !stillThere()) return null;
    if (Date.now() >= deadline) return null;
    await sleep(150, ctx.signal);
  }
}

/** KVM visible and nothing in front of it: the isAlive() of most scripts. */
export async function kvmShowing(page: Page, sel: KvmPage): Promise<boolean> {
  return (await outcomeNow(page, sel)) === 'kvm';
}

function busyFailure(vendor: string): Error {
  return failure(
    'kvm-busy',
    `The ${vendor} console is held by another session`,
    'Close the other console session (BMC web UI, another viewer) or wait for it to time out, then reconnect',
  );
}

/**
 * The failure for a console page that did not end in the KVM; `kvm` returns null (the caller goes on).
 * `what` names the viewer ("iDRAC virtual console").
 */
export function outcomeFailure(outcome: KvmOutcome | null, what: string): Error | null {
  switch (outcome) {
    case 'kvm':
      return null;
    case 'busy':
      return busyFailure(what);
    case 'invalid':
      return failure(
        'auth',
        `The ${what} refused the session or console ticket`,
        'Check the account has the remote console privilege; then reconnect',
      );
    case 'login':
      return failure('auth', `The ${what} asked to log in again: the session was not accepted`);
    case 'ended':
      return failure(
        'bmc-error',
        `The ${what} closed the console connection`,
        'The BMC refused or dropped the console socket: reconnect, and reset the BMC if it keeps happening',
      );
    case null:
      return failure(
        'bmc-error',
        `The ${what} did not show any video`,
        'The console may be held by another session (some BMCs send no video then): close other sessions',
      );
  }
}
