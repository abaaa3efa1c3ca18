/**
 * The console's own pages, shown with page.setContent (no network): the status page (which step is running,
 * or why it failed and what to check) and the overlay that keeps the step visible on a BMC's pages.
 */

export interface StatusView {
  /** "Connecting to the BMC", "Logging in to Dell iDRAC"... */
  step: string;
  /**
   * A state the console rests in (waiting for a viewer, or for its node): shown without the spinner. The spinner is
   * a CSS animation that Chromium draws 60 times a second, a large share of a core per console, on a page that may
   * stay for hours.
   */
  resting?: boolean;
  /** Set when the console failed: what went wrong, in one line. */
  error?: string;
  /** What to check, shown under the error. */
  hint?: string;
  /** Node name / UUID / BMC address, as a subtitle. */
  subject?: string;
  /** Extra lines (e.g. every problem in the environment). */
  details?: string[];
}

/** Colours of the status page, exported so tests can recognise it in a VNC frame. */
export const STATUS_PAGE_COLOURS = {
  background: '#10233f',
  failureBackground: '#4a0d12',
  text: '#ffffff',
} as const;

export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

export function statusPageHtml(v: StatusView): string {
  const failed = v.error !== undefined;
  const bg = failed ? STATUS_PAGE_COLOURS.failureBackground : STATUS_PAGE_COLOURS.background;
  const details = (v.details ?? []).map((d) => `<li>${escapeHtml(d)}</li>`).join('');
  return `<!doctype html><html><head><meta charset="utf-8"><meta name="bmc-console-page" content="status"><title>bmc-console</title><style>
html,body{margin:0;height:100%;background:${bg};color:${STATUS_PAGE_COLOURS.text};font-family:"DejaVu Sans",sans-serif;cursor:default}
main{display:flex;flex-direction:column;justify-content:center;height:100%;padding:0 6vw;box-sizing:border-box}
.brand{font-size:22px;opacity:.7;letter-spacing:.1em;text-transform:uppercase}
.subject{font-size:24px;opacity:.8;margin-top:.3em}
h1{font-size:48px;margin:.6em 0 .3em}
.hint{font-size:30px;line-height:1.35;opacity:.95}
ul{font-size:26px;line-height:1.4}
.spinner{width:40px;height:40px;border:6px solid rgba(255,255,255,.25);border-top-color:#fff;border-radius:50%;animation:s 1s linear infinite;display:inline-block;vertical-align:middle;margin-right:.5em}
@keyframes s{to{transform:rotate(360deg)}}
</style></head><body><main>
<div class="brand">bmc-console</div>
${v.subject ? `<div class="subject">${escapeHtml(v.subject)}</div>` : ''}
${
  failed
    ? `<h1 id="error">${escapeHtml(v.error ?? '')}</h1>${v.hint ? `<div class="hint" id="hint">${escapeHtml(v.hint)}</div>` : ''}${v.step ? `<div class="hint" style="opacity:.6;margin-top:1em">Step: ${escapeHtml(v.step)}</div>` : ''}`
    : `<h1 id="step">${v.resting ? '' : '<span class="spinner"></span>'}${escapeHtml(v.step)}</h1>`
}
${details ? `<ul id="details">${details}</ul>` : ''}
</main></body></html>`;
}

/**
 * Runs in the page (page.evaluate): shows the step in the heading of the status page drawn by statusPageHtml, with
 * the spinner unless the step is a resting one. On any other document (a BMC page, the fake console, the failure
 * page) it changes nothing.
 */
export function replaceStatusStep(view: { step: string; resting: boolean }): boolean {
  const heading = document.querySelector('meta[name="bmc-console-page"][content="status"]')
    ? document.getElementById('step')
    : null;
  if (!heading) return false;
  let spinner = heading.querySelector('.spinner');
  if (view.resting) spinner = null;
  else if (!spinner) {
    spinner = document.createElement('span');
    spinner.className = 'spinner';
  }
  heading.replaceChildren(...(spinner ? [spinner] : []), view.step);
  return true;
}

/**
 * Colours of the fake app's test console, chosen to be unlike any BMC page so a pixel check can tell
 * them apart: a deep violet background, an amber moving bar and a cyan clock.
 */
export const FAKE_CONSOLE_COLOURS = {
  background: { r: 0x3b, g: 0x0a, b: 0x6e },
  bar: { r: 0xff, g: 0xb3, b: 0x00 },
  clock: { r: 0x00, g: 0xe5, b: 0xff },
  label: { r: 0xff, g: 0xff, b: 0xff },
} as const;

const css = (c: { r: number; g: number; b: number }) => `rgb(${c.r},${c.g},${c.b})`;

/** Ironic's fake app, ours: a clearly labelled animated test console (a moving bar and a running clock). */
export function fakeConsoleHtml(opts: { subject?: string; readOnly: boolean }): string {
  const c = FAKE_CONSOLE_COLOURS;
  return `<!doctype html><html><head><meta charset="utf-8"><meta name="bmc-console-page" content="fake"><title>bmc-console test console</title><style>
html,body{margin:0;height:100%;overflow:hidden;background:${css(c.background)};color:${css(c.label)};font-family:"DejaVu Sans",sans-serif}
#label{position:absolute;top:12%;width:100%;text-align:center;font-size:64px;font-weight:bold}
#sub{position:absolute;top:24%;width:100%;text-align:center;font-size:28px;opacity:.85}
#clock{position:absolute;top:40%;width:100%;text-align:center;font-size:96px;font-family:"DejaVu Sans Mono",monospace;color:${css(c.clock)}}
#bar{position:absolute;bottom:12%;left:0;width:18%;height:64px;background:${css(c.bar)};animation:move 4s ease-in-out infinite alternate}
@keyframes move{from{left:0}to{left:82%}}
#typed{position:absolute;top:62%;width:100%;text-align:center;font-size:28px}
</style></head><body>
<div id="label">bmc-console test console</div>
<div id="sub">${escapeHtml(opts.subject ?? 'APP=fake')}${opts.readOnly ? ' - read only' : ''}</div>
<div id="clock">--:--:--</div>
<div id="typed"></div>
<div id="bar"></div>
<script>
const clock=document.getElementById('clock');
const tick=()=>{clock.textContent=new Date().toISOString().slice(11,19)+' UTC'};tick();setInterval(tick,250);
// Shows what a viewer typed and where it clicked, so end-to-end tests can check input.
const typed=document.getElementById('typed');let text='',clicks=0,last='';
addEventListener('keydown',e=>{if(e.key.length===1)text+=e.key;else if(e.key==='Backspace')text=text.slice(0,-1);typed.textContent='typed: '+text+(clicks?'  clicks: '+clicks+' at '+last:'')});
addEventListener('mousedown',e=>{clicks++;last=e.clientX+','+e.clientY;typed.textContent='typed: '+text+'  clicks: '+clicks+' at '+last});
</script></body></html>`;
}

/**
 * An init script for BMC pages: a small banner at the bottom showing the current step while a vendor
 * script navigates. It asks the supervisor for the step through an exposed function and removes itself
 * once the supervisor answers null (the KVM is showing). Then it stops asking: each question is a round trip
 * through Chromium and the supervisor's CDP connection, which a page shown for hours would pay twice a second. The
 * supervisor wakes it (STEP_OVERLAY_WAKE) when a step comes again on the same page (the KVM lost, a new login).
 */
export const STEP_OVERLAY_FUNCTION = '__bmcConsoleStep';
/** Evaluated in the page's main world to make a stopped overlay ask for the step again. */
export const STEP_OVERLAY_WAKE = 'window.__bmcConsoleStepWake && window.__bmcConsoleStepWake()';
export const stepOverlayInitScript = `(() => {
  if (window.top !== window) return;
  const id = '__bmc_console_step_overlay';
  // Resolves whether to ask again: while a step shows, or the page is not ready to show it yet.
  const update = async () => {
    let step = null;
    try { step = await window.${STEP_OVERLAY_FUNCTION}(); } catch { return true; }
    let el = document.getElementById(id);
    // Our own pages show the step themselves.
    if (step == null || document.querySelector('meta[name="bmc-console-page"]')) { if (el) el.remove(); return false; }
    if (!el) {
      if (!document.body) return true;
      el = document.createElement('div');
      el.id = id;
      el.style.cssText = 'position:fixed;left:0;right:0;bottom:0;z-index:2147483647;padding:10px 20px;background:rgba(16,35,63,.92);color:#fff;font:24px "DejaVu Sans",sans-serif;pointer-events:none';
      document.body.appendChild(el);
    }
    el.textContent = 'bmc-console: ' + step;
    return true;
  };
  // A wake while a question is out may be answered with the step before it: it makes the loop ask once more.
  let running = false, again = false;
  const loop = () => {
    running = true;
    again = false;
    update().then((more) => { if (more || again) setTimeout(loop, more ? 500 : 0); else running = false; });
  };
  Object.defineProperty(window, '__bmcConsoleStepWake', { value: () => { if (running) again = true; else loop(); } });
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', loop); else loop();
})();`;
