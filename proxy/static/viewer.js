// bmc-console viewer: one console per page, chosen only by the token. The websocket path is fixed (/websockify on
// this origin); no host, port or password is ever taken from the URL.
import RFB from '/novnc/core/rfb.js';
import { createPresencePanel, isPresence, isRefused } from './presence.js';
import { ConsoleChannel } from './side-channel.js';

const $ = (id) => document.getElementById(id);
// presence / lastRefused: the proxy's side channel (null when the proxy does not offer it); read by tests.
const state = {
  state: 'connecting',
  reason: '',
  closeCode: null,
  readOnly: false,
  attempts: 0,
  sideChannel: false,
  presence: null,
  lastRefused: null,
};
window.bmcViewer = state;

// Close codes the proxy sends (proxy/src/close-codes.ts) and whether reconnecting can help.
const CLOSE_TEXT = {
  1000: ['Session closed', false],
  1001: ['Console proxy restarted', true],
  1003: ['Protocol error (text frame)', false],
  1006: ['Connection lost', true],
  1009: ['Message too big', false],
  4000: ['Connection timed out', true],
  4400: ['Console handshake failed', false],
  4401: ['Access token expired', false],
  4403: ['Access was revoked', false],
  4408: ['Closed after inactivity', false],
  4409: ['Maximum session length reached', false],
  4502: ['Console connection closed', true],
  4503: ['Console not reachable', true],
  4504: ['Proxy could not log in to the console', false],
  4505: ['Recording required but not available', false],
  4506: ['The BMC refused the login', false],
  4507: ['The BMC has no free console session', true],
  4508: ["The BMC's certificate failed the node's trust rule", false],
};
// Console failures whose close reason says why (a direct console's BMC step, e.g. "login: ... HTTP 401").
const REASON_SHOWN = (code) => code >= 4502 && code <= 4508;
const TOKEN_TEXT = {
  unknown: 'Access token not valid',
  expired: 'Access token expired',
  revoked: 'Access was revoked',
  'wrong-node': 'Access token is for another node',
  'agent-unavailable': 'Console service unavailable',
  'rate-limited': 'Too many failed access attempts from this address; waiting',
};

// The token leaves the address bar once connected (history, screenshots, copied links); a reload of this tab finds
// it here, in storage that lives only as long as the tab.
const TOKEN_KEY = 'bmc-console:token';

function readParams() {
  const q = new URLSearchParams(location.search);
  const h = new URLSearchParams(location.hash.slice(1));
  let node = q.get('node') || h.get('node');
  let token = q.get('token') || h.get('token');
  // Ironic's URL form: ?path=websockify%3Fnode%3D<uuid>%26token%3D<token>. Only node and token are taken from it.
  const path = q.get('path');
  if ((!node || !token) && path) {
    const m = /^\/?websockify\?(.*)$/.exec(path);
    if (m) {
      const p = new URLSearchParams(m[1]);
      node = node || p.get('node');
      token = token || p.get('token');
    }
  }
  if (node && !token) {
    try {
      const saved = JSON.parse(sessionStorage.getItem(TOKEN_KEY) || 'null');
      if (saved && saved.node === node) token = saved.token;
    } catch {
      // storage disabled or garbled: the link needs its token then
    }
  }
  return { node, token };
}

/** Replaces the page's address by one without the token (node only); the token stays in this tab's storage. */
function hideToken() {
  try {
    sessionStorage.setItem(TOKEN_KEY, JSON.stringify({ node, token }));
  } catch {
    // without storage a reload needs the original link; hiding the token still matters more
  }
  history.replaceState(history.state, '', `${location.pathname}?node=${encodeURIComponent(node)}`);
}

const { node, token } = readParams();
let rfb = null;
/** The current console socket (its side channel carries presence and our requests). */
let channel = null;
let scale = true;
let retryTimer = null;
let userClosed = false;

// What the person can do after each failure (shown under the reason while no console is visible).
const HINT = {
  token: 'Ask for a new console link (the access token is no longer valid).',
  retry: 'Press Reconnect to open the console again.',
};

function setState(s, reason = '', hint = '') {
  state.state = s;
  state.reason = reason;
  $('overlay').hidden = s === 'connected';
  $('overlay-title').textContent = reason || label(s);
  $('overlay-detail').textContent = hint;
  $('status').textContent = reason ? `${label(s)} — ${reason}` : label(s);
  $('status-dot').dataset.state = s;
  applyInputState();
  $('btn-reconnect').hidden = !(s === 'disconnected' || (s === 'failed' && hint !== HINT.token));
  document.title = `${s === 'connected' ? '' : '(' + label(s).replace('…', '') + ') '}BMC console${node ? ' · ' + node : ''}`;
}

/** This viewer's own entry in the last presence message, if any. */
function me() {
  const p = state.presence;
  return p ? p.viewers.find((v) => v.session === p.you) || null : null;
}

/** Whether keys and clicks from here reach the console: not read-only, and the proxy (if it says) lets us type. */
function canType() {
  const m = me();
  return !state.readOnly && (!m || m.canType);
}

/** Keeps noVNC's input, the buttons and the badges in line with the role, read-only state and control. */
function applyInputState() {
  const live = state.state === 'connected';
  const typing = canType();
  $('btn-cad').disabled = !live || !typing;
  $('btn-type').disabled = !live || !typing;
  if (rfb) rfb.viewOnly = !typing;
  const viewRole = me()?.role === 'view';
  $('viewonly').hidden = !(state.readOnly || viewRole);
  $('viewonly').title = viewRole
    ? 'This link is view-only: keyboard and mouse are not sent'
    : 'The console is read-only: keyboard and mouse are not sent';
  $('recorded').hidden = !state.presence?.recording;
}

const panel = createPresencePanel({
  onRequest: (req) => {
    if (!channel?.sendJson(req)) state.lastRefused = { request: req.type, reason: 'not connected', at: Date.now() };
  },
});

function onSideMessage(m) {
  if (isPresence(m)) {
    state.presence = m;
    panel.update(m);
    applyInputState();
  } else if (isRefused(m)) {
    state.lastRefused = { request: m.request, reason: m.reason, at: Date.now() };
    panel.refused(m);
  }
}

function label(s) {
  return { connecting: 'Connecting…', connected: 'Connected', reconnecting: 'Reconnecting…', disconnected: 'Disconnected', failed: 'Not connected' }[s];
}

async function tokenStatus() {
  try {
    const res = await fetch('/api/token-status', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ node, token }),
      cache: 'no-store',
      credentials: 'omit',
    });
    return await res.json();
  } catch {
    return { valid: null, reason: 'agent-unavailable' };
  }
}

function backoffMs(attempt) {
  return Math.min(30000, 1000 * 2 ** Math.min(attempt, 5)) * (0.8 + Math.random() * 0.4);
}

function scheduleReconnect(why, detail = '') {
  state.attempts += 1;
  const ms = backoffMs(state.attempts - 1);
  setState('reconnecting', `${why}; retrying in ${Math.round(ms / 1000)} s`, detail);
  clearTimeout(retryTimer);
  retryTimer = setTimeout(() => void connect(true), ms);
}

async function connect(isRetry = false) {
  clearTimeout(retryTimer);
  if (!node || !token) return setState('failed', 'This link has no node or token', HINT.token);
  setState(isRetry ? 'reconnecting' : 'connecting');
  const st = await tokenStatus();
  if (st.valid === false) return setState('failed', TOKEN_TEXT[st.reason] || 'Access token not valid', HINT.token);
  if (st.valid === null) return scheduleReconnect(TOKEN_TEXT[st.reason] || TOKEN_TEXT['agent-unavailable']);
  state.readOnly = !!st.readOnly;
  state.presence = null;
  panel.reset();
  applyInputState();

  const url = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/websockify?node=${encodeURIComponent(node)}&token=${encodeURIComponent(token)}`;
  // We open the socket (offering the side channel) and give noVNC only its binary frames; a proxy that does not
  // select the protocol sends binary only, and the viewer then works as it always did.
  const ch = new ConsoleChannel(url, {
    onJson: (m) => channel === ch && onSideMessage(m),
    onClose: (e) => {
      state.closeCode = e.code;
      state.closeReason = e.reason;
    },
  });
  channel = ch;
  ch.addEventListener('open', () => {
    state.sideChannel = ch.sideChannel;
  });
  userClosed = false;
  rfb = new RFB($('screen'), ch, { shared: true });
  rfb.scaleViewport = scale;
  rfb.viewOnly = !canType();
  rfb.background = '#0b0e12';
  rfb.addEventListener('connect', () => {
    state.attempts = 0;
    hideToken();
    setState('connected');
    rfb.focus();
  });
  rfb.addEventListener('credentialsrequired', () => {
    // The proxy authenticates to the console; a password prompt means the console is misconfigured.
    rfb.disconnect();
    setState('failed', 'The console asks for a VNC password', 'Passwords are never typed here: the console proxy must be configured with it.');
  });
  rfb.addEventListener('securityfailure', (e) => setState('failed', `console refused the connection${e.detail.reason ? ': ' + e.detail.reason : ''}`));
  rfb.addEventListener('disconnect', () => void onDisconnect());
}

async function onDisconnect() {
  rfb = null;
  channel = null;
  state.presence = null;
  panel.reset();
  applyInputState();
  if (userClosed) return setState('disconnected', 'Closed', HINT.retry);
  if (state.state === 'failed') return;
  const code = state.closeCode ?? 1006;
  const [text, retryable] = CLOSE_TEXT[code] || [`Connection closed (${code})`, true];
  const why = state.closeReason || '';
  // The proxy's reason, unless it only repeats the headline.
  const detail = REASON_SHOWN(code) && why.toLowerCase() !== text.toLowerCase() ? why : '';
  if (code === 4401 || code === 4403) return setState('failed', text, HINT.token);
  if (!retryable) return setState('disconnected', text, detail || HINT.retry);
  // Reconnect only while the token is still valid.
  const st = await tokenStatus();
  if (st.valid === false) return setState('failed', TOKEN_TEXT[st.reason] || text, HINT.token);
  scheduleReconnect(st.reason === 'rate-limited' ? TOKEN_TEXT['rate-limited'] : text, detail);
}

$('btn-cad').addEventListener('click', () => rfb?.sendCtrlAltDel());
$('btn-scale').addEventListener('click', () => {
  scale = !scale;
  $('btn-scale').setAttribute('aria-pressed', String(scale));
  if (rfb) rfb.scaleViewport = scale;
});
$('btn-fullscreen').addEventListener('click', () => {
  if (document.fullscreenElement) void document.exitFullscreen();
  else void document.documentElement.requestFullscreen().catch(() => {});
});
$('btn-reconnect').addEventListener('click', () => {
  state.attempts = 0;
  void connect(false);
});
$('btn-help').addEventListener('click', () => {
  const p = $('help-panel');
  p.hidden = !p.hidden;
  $('btn-help').setAttribute('aria-expanded', String(!p.hidden));
});
$('help-close').addEventListener('click', () => {
  $('help-panel').hidden = true;
  $('btn-help').setAttribute('aria-expanded', 'false');
  rfb?.focus();
});
$('btn-type').addEventListener('click', () => {
  $('type-panel').hidden = false;
  $('type-text').focus();
});
$('type-cancel').addEventListener('click', () => {
  $('type-panel').hidden = true;
  rfb?.focus();
});
$('type-send').addEventListener('click', () => {
  const text = $('type-text').value;
  $('type-panel').hidden = true;
  $('type-text').value = '';
  void typeText(text);
});

/** X keysym for one character: Latin-1 maps to itself, the rest to 0x01000000 + code point. */
function keysym(ch) {
  if (ch === '\n') return 0xff0d;
  if (ch === '\t') return 0xff09;
  const c = ch.codePointAt(0);
  return (c >= 0x20 && c <= 0x7e) || (c >= 0xa0 && c <= 0xff) ? c : 0x01000000 + c;
}

async function typeText(text) {
  if (!rfb || !canType()) return;
  rfb.focus();
  for (const ch of text) {
    if (!rfb) return;
    rfb.sendKey(keysym(ch), null);
    // Short pause so BMC KVMs that sample keys (USB HID reports) do not drop repeated characters.
    await new Promise((r) => setTimeout(r, 15));
  }
}

window.addEventListener('beforeunload', () => {
  userClosed = true;
  rfb?.disconnect();
});

$('node').textContent = node ? `node ${node}` : '';
void connect(false);
