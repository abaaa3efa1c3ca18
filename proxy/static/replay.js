// The recording replay page: /replay.html#node=N&token=T&recording=ID (admin=1 sends the token as a bearer
// token instead). Loads the recording from the proxy, which checks access and the file's HMAC, then plays it.
import { inputEvents, parseRecording, RecordingFormatError, unsupportedPixelFormat } from './recording-file.js';
import { ReplayPlayer } from './replay-player.js';

const $ = (id) => document.getElementById(id);
// Same as common/src/contracts/recording.ts RECORDING_ID_RE.
const RECORDING_ID_RE = /^\d{8}T\d{6}Z-[A-Za-z0-9][A-Za-z0-9._-]{0,62}-[0-9a-f]{8}$/;
// The token leaves the address bar once read; a reload of this tab finds it here.
const TOKEN_KEY = 'bmc-console:replay';

/** Read by tests (and handy from the console): the page's state and its controls. */
const api = {
  state: 'loading',
  error: null,
  durationMs: 0,
  positionMs: 0,
  events: [],
  seek: async (ms) => {
    if (player) await seekTo(ms);
  },
  play: () => {
    player?.play();
    render();
  },
  pause: () => {
    player?.pause();
    render();
  },
  frameDataUrl: () => (player ? player.frameDataUrl() : ''),
};
window.bmcReplay = api;

let player = null;
let recordingId = '';
let seeking = false;
let currentEvent = -1;

function readParams() {
  const h = new URLSearchParams(location.hash.slice(1));
  let p = { node: h.get('node'), token: h.get('token'), recording: h.get('recording'), admin: h.get('admin') === '1' };
  if (!p.token) {
    try {
      const saved = JSON.parse(sessionStorage.getItem(TOKEN_KEY) || 'null');
      if (saved && saved.recording === p.recording && saved.node === p.node) p = { ...p, token: saved.token };
    } catch {
      // storage disabled or garbled: the link needs its token then
    }
  }
  return p;
}

function hideToken(p) {
  try {
    sessionStorage.setItem(TOKEN_KEY, JSON.stringify(p));
  } catch {
    // without storage a reload needs the original link
  }
  const h = new URLSearchParams();
  if (p.node) h.set('node', p.node);
  h.set('recording', p.recording);
  if (p.admin) h.set('admin', '1');
  history.replaceState(history.state, '', `${location.pathname}#${h}`);
}

function fail(title, detail = '') {
  api.state = 'error';
  api.error = detail ? `${title}: ${detail}` : title;
  player?.pause();
  $('overlay').hidden = false;
  $('overlay-title').textContent = title;
  $('overlay-detail').textContent = detail;
  $('status').textContent = title;
  $('status-dot').dataset.state = 'failed';
  for (const id of ['btn-play', 'speed', 'seek', 'btn-export']) $(id).disabled = true;
}

const STATUS_TITLE = {
  400: 'The request for this recording was not valid',
  401: 'Access to this recording was refused',
  403: 'Access to this recording was refused',
  404: 'Recording not found',
  409: 'This recording is still being written',
  422: 'This recording cannot be trusted',
  429: 'Too many failed access attempts from this address',
  503: 'The console service is unavailable',
};

async function load(p) {
  const q = new URLSearchParams();
  if (p.node) q.set('node', p.node);
  const headers = {};
  if (p.admin) headers.authorization = `Bearer ${p.token}`;
  else q.set('token', p.token);
  let res;
  try {
    res = await fetch(`/api/recordings/${encodeURIComponent(p.recording)}?${q}`, {
      headers,
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch {
    return fail('The console proxy could not be reached', 'Reload the page to try again.');
  }
  if (!res.ok) {
    let detail = '';
    try {
      const body = await res.json();
      if (typeof body?.error === 'string') detail = body.error;
    } catch {
      // not JSON: the status says enough
    }
    return fail(STATUS_TITLE[res.status] || `The recording could not be loaded (HTTP ${res.status})`, detail);
  }
  return res.arrayBuffer();
}

const fmt = (ms) => {
  const s = Math.max(0, ms) / 1000;
  const m = Math.floor(s / 60);
  const rest = (s - m * 60).toFixed(1).padStart(4, '0');
  return m >= 60 ? `${Math.floor(m / 60)}:${String(m % 60).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
};

function render() {
  if (!player || api.state === 'error') return;
  const pos = player.currentPosition();
  api.positionMs = pos;
  if (!seeking) api.state = player.playing ? 'playing' : player.ended ? 'ended' : api.state === 'ready' ? 'ready' : 'paused';
  $('btn-play').textContent = player.playing ? 'Pause' : player.ended ? 'Replay' : 'Play';
  if (document.activeElement !== $('seek')) $('seek').value = String(Math.round(pos));
  $('time').textContent = `${fmt(pos)} / ${fmt(player.durationMs)}`;
  $('status').textContent = { ready: 'Ready', playing: 'Playing', paused: 'Paused', ended: 'Ended' }[api.state];
  $('status-dot').dataset.state = api.state === 'playing' ? 'connected' : 'idle';
  markCurrentEvent(pos);
}

/** Highlights the last event at or before the position (one class change per move, not one per event). */
function markCurrentEvent(pos) {
  let lo = 0;
  let hi = api.events.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (api.events[mid].t <= pos) lo = mid + 1;
    else hi = mid;
  }
  const idx = lo - 1;
  if (idx === currentEvent) return;
  const items = $('events').children;
  items[currentEvent]?.classList.remove('current');
  items[idx]?.classList.add('current');
  currentEvent = idx;
}

async function seekTo(ms) {
  seeking = true;
  try {
    await player.seek(ms);
  } finally {
    seeking = false;
    render();
  }
}

function showEvents(events) {
  const list = $('events');
  $('timeline-empty').hidden = events.length > 0;
  for (const e of events) {
    const li = document.createElement('li');
    li.className = `${e.type}${e.dropped ? ' dropped' : ''}`;
    const b = document.createElement('button');
    b.type = 'button';
    b.dataset.t = String(e.t);
    b.title = e.dropped ? 'Not delivered to the console (view-only or not in control)' : 'Show the screen at this moment';
    const t = document.createElement('span');
    t.className = 't';
    t.textContent = fmt(e.t);
    const who = document.createElement('span');
    who.className = 'who';
    who.textContent = e.user;
    const what = document.createElement('span');
    what.className = 'what';
    what.textContent = e.text;
    b.append(t, who, what);
    if (e.dropped) {
      const d = document.createElement('span');
      d.className = 'dropped-tag';
      d.textContent = 'dropped';
      b.append(d);
    }
    b.addEventListener('click', () => void seekTo(e.t));
    li.append(b);
    list.append(li);
  }
}

function describe(h) {
  const who = h.user || 'anonymous';
  const start = new Date(h.start);
  const when = Number.isNaN(start.getTime()) ? h.start : start.toLocaleString();
  return `node ${h.node} · ${who} (${h.role}${h.readOnly ? ', read-only console' : ''}) · ${when}`;
}

async function main() {
  const p = readParams();
  if (!p.recording || !RECORDING_ID_RE.test(p.recording)) return fail('This link names no valid recording');
  if (!p.token) return fail('This link has no access token');
  const buf = await load(p);
  if (!buf) return;
  hideToken(p);
  recordingId = p.recording;
  let rec;
  try {
    rec = parseRecording(buf);
  } catch (err) {
    if (err instanceof RecordingFormatError) return fail('The recording file is damaged', err.message);
    throw err;
  }
  const pixelProblem = unsupportedPixelFormat(rec);
  if (pixelProblem) return fail('This recording cannot be shown', pixelProblem);

  document.title = `Recording · ${rec.header.node}`;
  $('rec-info').textContent = describe(rec.header);
  api.events = inputEvents(rec);
  api.durationMs = rec.durationMs;
  showEvents(api.events);
  $('seek').max = String(rec.durationMs);

  player = new ReplayPlayer($('screen'), rec, {
    onChange: render,
    onError: (msg) => fail('Replay stopped', msg),
  });
  await player.seek(0);
  if (api.state === 'error') return;
  api.state = 'ready';
  $('overlay').hidden = true;
  if (!rec.complete) $('rec-info').textContent += ' · incomplete (cut short)';
  for (const id of ['btn-play', 'speed', 'seek', 'btn-export']) $(id).disabled = false;
  render();
}

$('btn-play').addEventListener('click', () => {
  if (!player) return;
  if (player.playing) player.pause();
  else player.play();
  render();
});
$('speed').addEventListener('change', () => player?.setSpeed(Number($('speed').value)));
$('seek').addEventListener('input', () => {
  $('time').textContent = `${fmt(Number($('seek').value))} / ${fmt(api.durationMs)}`;
});
$('seek').addEventListener('change', () => void seekTo(Number($('seek').value)));
$('btn-export').addEventListener('click', async () => {
  const blob = await player?.frameBlob();
  if (!blob) return;
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = `${recordingId}-${Math.round(api.positionMs)}ms.png`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
});

main().catch((err) => fail('The replay failed', err instanceof Error ? err.message : String(err)));
