/**
 * Recognising the end states of a console page: the KVM showing, a login form (again), or a message the
 * vendor shows instead of the KVM (busy, invalid session). Each script lists its own selectors.
 */
import type { Page } from 'playwright-core';
import type { ConsoleContext } from 'bmc-console/vendor-script';
import { failure } from './failure.js';
import { firstOf } from './wait.js';

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

export type KvmOutcome = 'kvm' | 'login' | 'busy' | 'invalid';

/** Waits until the page settles in one of the outcomes; null on timeout. */
export async function settle(ctx: ConsoleContext, sel: KvmPage, timeoutMs = 30_000): Promise<KvmOutcome | null> {
  const outcomes: Partial<Record<KvmOutcome, string>> = { kvm: sel.kvm };
  if (sel.busy) outcomes.busy = sel.busy;
  if (sel.invalid) outcomes.invalid = sel.invalid;
  if (sel.login) outcomes.login = sel.login;
  return firstOf(ctx.page, outcomes as Record<KvmOutcome, string>, ctx.signal, timeoutMs);
}

/** KVM visible and no login form over it: the isAlive() of most scripts. */
export async function kvmShowing(page: Page, sel: KvmPage): Promise<boolean> {
  if (page.isClosed()) return false;
  try {
    if (sel.login && (await page.locator(sel.login).first().isVisible())) return false;
    if (sel.invalid && (await page.locator(sel.invalid).first().isVisible())) return false;
    return await page.locator(sel.kvm).first().isVisible();
  } catch {
    return false;
  }
}

export function busyFailure(vendor: string): Error {
  return failure(
    'kvm-busy',
    `The ${vendor} console is held by another session`,
    'Close the other console session (BMC web UI, another viewer) or wait for it to time out, then reconnect',
  );
}
