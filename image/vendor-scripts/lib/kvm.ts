/**
 * Recognising the end states of a console page: the KVM showing, a login form (again), or a message the
 * vendor shows instead of the KVM (busy, invalid session). Each script lists its vendor's selectors; the
 * viewer state some viewers publish as <body data-kvm="connecting|ok|busy|shared|denied|error|closed"> (the
 * bmc-emulator's viewer does) is understood for every vendor.
 */
import type { Page } from 'playwright-core';
import type { ConsoleContext } from '../../src/vendor-script.js';
import { failure } from './failure.js';
import { sleep } from './wait.js';

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

const STATE_BUSY = 'body[data-kvm="busy"], body[data-kvm="shared"]';
const STATE_DENIED = 'body[data-kvm="denied"]';
const STATE_ENDED = 'body[data-kvm="error"], body[data-kvm="closed"]';
const STATE_NOT_OK = 'body[data-kvm]:not([data-kvm="ok"])';

async function visible(page: Page, selector: string | undefined): Promise<boolean> {
  if (!selector) return false;
  return page
    .locator(selector)
    .first()
    .isVisible()
    .catch(() => false);
}

async function present(page: Page, selector: string): Promise<boolean> {
  return (await page.locator(selector).count().catch(() => 0)) > 0;
}

/** One look at the page. Null while it is still loading/connecting. */
export async function outcomeNow(page: Page, sel: KvmPage): Promise<KvmOutcome | null> {
  if (page.isClosed()) return 'ended';
  if ((await present(page, STATE_BUSY)) || (await visible(page, sel.busy))) return 'busy';
  if (await present(page, STATE_DENIED)) return 'invalid';
  if (await visible(page, sel.invalid)) return 'invalid';
  if (await present(page, STATE_ENDED)) return 'ended';
  if (await visible(page, sel.login)) return 'login';
  if ((await visible(page, sel.kvm)) && !(await present(page, STATE_NOT_OK))) return 'kvm';
  return null;
}

/** Waits until the page settles in one of the outcomes; null on timeout. */
export async function settle(
  ctx: ConsoleContext,
  sel: KvmPage,
  timeoutMs = 30_000,
  /** Polled: false means the page went somewhere else (an SPA routed away), so stop waiting (null). */
  stillThere?: () => boolean,
): Promise<KvmOutcome | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const o = await outcomeNow(ctx.page, sel);
    if (o) return o;
    if (stillThere && !stillThere()) return null;
    if (Date.now() >= deadline) return null;
    await sleep(150, ctx.signal);
  }
}

/** KVM visible and nothing in front of it: the isAlive() of most scripts. */
export async function kvmShowing(page: Page, sel: KvmPage): Promise<boolean> {
  return (await outcomeNow(page, sel)) === 'kvm';
}

export function busyFailure(vendor: string): Error {
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
      return failure('auth', `The ${what} refused the session or console ticket`, 'Check the account has the remote console privilege; then reconnect');
    case 'login':
      return failure('auth', `The ${what} asked to log in again: the session was not accepted`);
    case 'ended':
      return failure('bmc-error', `The ${what} closed the console connection`, 'The BMC refused or dropped the console socket: reconnect, and reset the BMC if it keeps happening');
    case null:
      return failure('bmc-error', `The ${what} did not show any video`, 'The console may be held by another session (some BMCs send no video then): close other sessions');
  }
}
