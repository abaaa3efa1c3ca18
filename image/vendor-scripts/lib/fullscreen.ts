/**
 * Makes the vendor's KVM fill the screen: hides the vendor's chrome (menus, status bars, banners) and pins the
 * viewer's container to the whole viewport. Sizes come from the viewport (100vw/100vh), never from a fixed
 * display size, so the same CSS works headless, headed and in kiosk at any resolution.
 */
import type { Page } from '../../src/cdp/page.js';
import type { ConsoleContext } from '../../src/vendor-script.js';
import { evaluateQuietly } from './quiet.js';
import { abortable } from './wait.js';

export interface ChromeRules {
  /** Selectors of vendor chrome to hide. */
  hide?: readonly string[];
  /** Selectors of the viewer's container (or canvas) to pin full screen. */
  fill?: readonly string[];
}

export function chromeCss(rules: ChromeRules): string {
  const parts = ['html, body { overflow: hidden !important; background: #000 !important; }'];
  if (rules.hide?.length) parts.push(`${rules.hide.join(',\n')} { display: none !important; }`);
  if (rules.fill?.length)
    parts.push(
      `${rules.fill.join(',\n')} { position: fixed !important; inset: 0 !important; width: 100vw !important; ` +
        'height: 100vh !important; max-width: none !important; max-height: none !important; margin: 0 !important; ' +
        'border: 0 !important; z-index: 2147483000 !important; background: #000 !important; }',
    );
  return parts.join('\n');
}

const installed = new WeakMap<Page, Set<string>>();

/**
 * Injects the CSS into the current document and into every later document of this page (reloads, the viewer
 * reconnecting), once per page and rule set.
 */
export async function hideChrome(ctx: ConsoleContext, rules: ChromeRules): Promise<void> {
  const css = chromeCss(rules);
  const page = ctx.page;
  let done = installed.get(page);
  if (!done) installed.set(page, (done = new Set()));
  if (!done.has(css)) {
    done.add(css);
    await abortable(ctx.signal, page.addInitScript(injectStyle, css));
  }
  // Without a user gesture (the BMC's page must not be left activated, free to open windows, as the KVM shows), and
  // tolerant of a navigation under way.
  await abortable(ctx.signal, evaluateQuietly(page, `(${injectStyle.toString()})(${JSON.stringify(css)})`)).catch(
    (e: unknown) => {
      if (e instanceof Error && e.name === 'AbortError') throw e;
      // The page may be navigating; the init script covers the next document.
    },
  );
}

// Runs in the page: adds the style once, as soon as there is a document element to hang it on. No inner named
// functions: a TypeScript runner may wrap those in helpers that do not exist in the page.
function injectStyle(css: string): void {
  if (!document.documentElement) {
    document.addEventListener('readystatechange', () => injectStyle(css), { once: true });
    return;
  }
  const id = 'bmc-console-chrome';
  if ([...document.querySelectorAll(`style[data-bmc-console="${id}"]`)].some((s) => s.textContent === css)) return;
  const style = document.createElement('style');
  style.dataset.bmcConsole = id;
  style.textContent = css;
  (document.head ?? document.documentElement).appendChild(style);
}

/** A banner across the top of the page (e.g. "automatic login is not supported"), kept across navigations. */
export async function showNotice(ctx: ConsoleContext, text: string): Promise<void> {
  await abortable(ctx.signal, ctx.page.addInitScript(injectNotice, text));
  await abortable(ctx.signal, evaluateQuietly(ctx.page, `(${injectNotice.toString()})(${JSON.stringify(text)})`)).catch(
    () => undefined,
  );
}

function injectNotice(text: string): void {
  if (!document.body) {
    document.addEventListener('DOMContentLoaded', () => injectNotice(text), { once: true });
    return;
  }
  if (document.getElementById('bmc-console-notice')) return;
  const bar = document.createElement('div');
  bar.id = 'bmc-console-notice';
  bar.setAttribute('role', 'status');
  bar.style.cssText =
    'position:fixed;top:0;left:0;right:0;z-index:2147483647;padding:8px 40px 8px 12px;font:15px/1.4 sans-serif;' +
    'background:#fff3cd;color:#3d2f00;border-bottom:1px solid #d6b656';
  bar.textContent = text;
  const close = document.createElement('button');
  close.textContent = '×';
  close.setAttribute('aria-label', 'Dismiss');
  close.style.cssText =
    'position:absolute;right:8px;top:4px;font:20px sans-serif;border:0;background:none;cursor:pointer';
  close.addEventListener('click', () => bar.remove());
  bar.appendChild(close);
  document.body.appendChild(bar);
}
