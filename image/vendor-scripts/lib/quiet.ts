/**
 * Looking at the page without acting as its user: a user gesture gives the page about 5 s of transient user
 * activation, so polled every 2 s a BMC page would hold an activation most of the time (window.open passes the popup
 * blocker, other activation-gated APIs open up). The driver evaluates without one anyway (cdp/frame.ts); these checks
 * are also one round trip each (`Runtime.evaluate` on the page's session), since they run every 150 ms while a KVM
 * opens. Clicks and typing are Input events (cdp/locator.ts): there the vendor script acts as the user on purpose.
 */
import type { Page } from '../../src/cdp/page.js';
import { SELECTOR_ENGINE } from '../../src/cdp/selector-engine.js';

interface EvaluateResult {
  result?: { value?: unknown };
  exceptionDetails?: { text?: string; exception?: { description?: string } };
}

/**
 * Evaluates `expression` in the page's main frame (main world) without a user gesture and returns its value (JSON
 * only: `returnByValue`). Rejects when the page is closed, navigating, or the expression throws; callers treat
 * that as "nothing to see now", as they treat a failed page.evaluate.
 */
export async function evaluateQuietly<T>(
  page: Page,
  expression: string,
  opts: { awaitPromise?: boolean } = {},
): Promise<T> {
  if (page.isClosed()) throw new Error('the page is closed');
  const r = await page.session.send<EvaluateResult>('Runtime.evaluate', {
    expression,
    userGesture: false,
    returnByValue: true,
    awaitPromise: opts.awaitPromise ?? false,
    silent: true,
  });
  if (r.exceptionDetails)
    throw new Error(r.exceptionDetails.exception?.description ?? r.exceptionDetails.text ?? 'evaluation failed');
  return r.result?.value as T;
}

/** An invalid selector (the page's engine refused it): a bug in the script, so callers let it through. */
export class QuietSelectorError extends Error {
  override name = 'QuietSelectorError';
}

/**
 * Runs in the page: the `data-kvm` state of <body>, and for each named selector whether its first match is visible,
 * asked of the driver's own selector engine (the locators' engine: the same syntax and answers as
 * `locator(s).first().isVisible()`), all in one evaluation.
 */
const LOOK = `(function (checks) {
  var engine = (${SELECTOR_ENGINE});
  var out = { state: document.body ? document.body.getAttribute('data-kvm') : null, shown: {}, bad: [] };
  for (var k in checks) {
    try { out.shown[k] = engine('visible', checks[k]); } catch (e) { out.shown[k] = false; out.bad.push(k); }
  }
  return out;
})`;

export interface QuietLook<K extends string> {
  /** <body data-kvm>, null when absent. */
  state: string | null;
  /** For each selector: its first match is visible. */
  shown: Record<K, boolean>;
}

/**
 * One round trip, no user gesture: the viewer state and which of `selectors` show. Rejects when the page cannot be
 * asked right now (closed, navigating); throws for a selector the page refuses as invalid, a bug in the script.
 */
export async function lookQuietly<K extends string>(
  page: Page,
  selectors: Partial<Record<K, string>>,
): Promise<QuietLook<K>> {
  const checks: Record<string, string> = {};
  for (const [k, s] of Object.entries(selectors) as [K, string | undefined][]) if (s) checks[k] = s;
  const r = await evaluateQuietly<QuietLook<K> & { bad: string[] }>(page, `${LOOK}(${JSON.stringify(checks)})`);
  if (r.bad.length > 0)
    throw new QuietSelectorError(
      `invalid selector for ${r.bad.join(', ')}: ${r.bad.map((k) => selectors[k as K]).join(', ')}`,
    );
  const shown = r.shown;
  for (const k of Object.keys(selectors) as K[]) shown[k] ??= false;
  return { state: r.state, shown };
}
