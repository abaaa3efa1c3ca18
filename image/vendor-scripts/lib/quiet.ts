/**
 * Looking at the page without acting as its user: a user gesture gives the page about 5 s of transient user
 * activation, so polled every 2 s a BMC page would hold an activation most of the time (window.open passes the popup
 * blocker, other activation-gated APIs open up). The driver evaluates without one anyway (cdp/frame.ts); these checks
 * are also one round trip each (`Runtime.evaluate` on the page's session), since they run every 150 ms while a KVM
 * opens. Clicks and typing are Input events (cdp/locator.ts): there the vendor script acts as the user on purpose.
 */
import type { Page } from '../../src/cdp/page.js';

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

/** A selector the quiet checks understand: CSS (a list too), or Playwright's `text=/regex/flags`, `text="exact"`, `text=words`. */
type Quiet = { css: string } | { re: [string, string] } | { exact: string } | { words: string };

/** A selector the quiet checks cannot use: a bug in the script, so callers let it through. */
export class QuietSelectorError extends Error {
  override name = 'QuietSelectorError';
}

/** Translates a selector; throws on Playwright-only syntax the page's own querySelector would not understand. */
export function quietSelector(selector: string): Quiet {
  const m = /^text=(.*)$/s.exec(selector);
  if (!m) {
    if (
      />>|^[a-z_-]+=|:(has-text|text|text-is|text-matches|visible|nth-match)\(|:visible\b/i.test(selector) &&
      !selector.startsWith('css=')
    )
      throw new QuietSelectorError(`selector not supported by the quiet page checks: ${selector}`);
    return { css: selector.replace(/^css=/, '') };
  }
  const text = m[1] ?? '';
  const re = /^\/(.*)\/([a-z]*)$/s.exec(text);
  if (re) return { re: [re[1] ?? '', (re[2] ?? '').replace(/[gy]/g, '')] };
  const quoted = /^"(.*)"$/s.exec(text);
  if (quoted) return { exact: (quoted[1] ?? '').replace(/\s+/g, ' ').trim() };
  return { words: text.replace(/\s+/g, ' ').trim().toLowerCase() };
}

/**
 * Runs in the page (a string, so no transpiler helper ends up in it): the `data-kvm` state of <body>, and for each
 * named selector whether its first match is visible, as Playwright's `locator(s).first().isVisible()` answers it
 * (open shadow roots searched too; a text selector matches the innermost elements whose text matches).
 */
const LOOK = String.raw`(function (checks) {
  var roots = [document];
  for (var r = 0; r < roots.length; r++) {
    var all = roots[r].querySelectorAll('*');
    for (var i = 0; i < all.length; i++) if (all[i].shadowRoot) roots.push(all[i].shadowRoot);
  }
  function visible(el) {
    var style = getComputedStyle(el);
    if (style.display === 'contents') {
      for (var c = el.firstElementChild; c; c = c.nextElementSibling) if (visible(c)) return true;
      return false;
    }
    if (typeof el.checkVisibility === 'function' && !el.checkVisibility()) return false;
    if (style.visibility !== 'visible') return false;
    var rect = el.getBoundingClientRect();
    return rect.width > 0 && rect.height > 0;
  }
  function skip(el) {
    var n = el.nodeName;
    return n === 'HEAD' || n === 'SCRIPT' || n === 'NOSCRIPT' || n === 'STYLE' || n === 'TEMPLATE';
  }
  function text(el) {
    if (!el.querySelector('script, noscript, style, template')) return el.textContent || '';
    var t = '';
    for (var n = el.firstChild; n; n = n.nextSibling) t += n.nodeType === 3 ? n.nodeValue : n.nodeType === 1 && !skip(n) ? text(n) : '';
    return t;
  }
  function tester(s) {
    if (s.re) { var re = new RegExp(s.re[0], s.re[1]); return function (t) { return re.test(t); }; }
    if (s.exact !== undefined) return function (t) { return t.replace(/\s+/g, ' ').trim() === s.exact; };
    return function (t) { return t.replace(/\s+/g, ' ').toLowerCase().indexOf(s.words) >= 0; };
  }
  // The first innermost match in document order; a text that contains the match matches too, except for exact text,
  // so only exact text needs the whole tree walked.
  function firstText(test, whole) {
    for (var r = 0; r < roots.length; r++) {
      var stack = [];
      for (var i = roots[r].children.length - 1; i >= 0; i--) stack.push(roots[r].children[i]);
      while (stack.length) {
        var el = stack.pop();
        if (skip(el)) continue;
        var self = test(text(el));
        if (!self && !whole) continue;
        var inner = false;
        if (self) for (var c = el.firstElementChild; c && !inner; c = c.nextElementSibling) inner = !skip(c) && test(text(c));
        if (self && !inner) return el;
        for (var j = el.children.length - 1; j >= 0; j--) stack.push(el.children[j]);
      }
    }
    return null;
  }
  function firstCss(css) {
    for (var r = 0; r < roots.length; r++) { var el = roots[r].querySelector(css); if (el) return el; }
    return null;
  }
  var out = { state: document.body ? document.body.getAttribute('data-kvm') : null, shown: {}, bad: [] };
  for (var k in checks) {
    var s = checks[k], el = null;
    try { el = s.css !== undefined ? firstCss(s.css) : firstText(tester(s), s.exact !== undefined); } catch (e) { out.bad.push(k); }
    out.shown[k] = !!el && visible(el);
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
  const checks: Record<string, Quiet> = {};
  for (const [k, s] of Object.entries(selectors) as [K, string | undefined][]) if (s) checks[k] = quietSelector(s);
  const r = await evaluateQuietly<QuietLook<K> & { bad: string[] }>(page, `${LOOK}(${JSON.stringify(checks)})`);
  if (r.bad.length > 0)
    throw new QuietSelectorError(
      `invalid selector for ${r.bad.join(', ')}: ${r.bad.map((k) => selectors[k as K]).join(', ')}`,
    );
  const shown = r.shown;
  for (const k of Object.keys(selectors) as K[]) shown[k] ??= false;
  return { state: r.state, shown };
}
