// The presence panel: who watches this console, who may type, who typed last, whether it is recorded, and the
// hand-over / take-control buttons. Messages follow common/src/contracts/viewer-channel.ts; names are only ever
// set as text (they come from other people's links).

const REFUSED_SHOWN_MS = 8000;

const $ = (id) => document.getElementById(id);

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Checks the shape the panel relies on; the proxy is trusted, but a bad message must not break the viewer. */
export function isPresence(m) {
  return (
    !!m &&
    m.type === 'presence' &&
    typeof m.you === 'string' &&
    typeof m.exclusive === 'boolean' &&
    typeof m.recording === 'boolean' &&
    Array.isArray(m.viewers) &&
    m.viewers.every(
      (v) =>
        v && typeof v.session === 'string' && (v.role === 'control' || v.role === 'view') && typeof v.canType === 'boolean',
    )
  );
}

export function isRefused(m) {
  return !!m && m.type === 'refused' && typeof m.request === 'string' && typeof m.reason === 'string';
}

export const displayName = (user) => user || 'anonymous';

const clock = (iso) => {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString([], { hour12: false });
};

/**
 * @param {{ onRequest: (req: { type: 'hand-over', to: string } | { type: 'take-control' }) => void }} opts
 */
export function createPresencePanel({ onRequest }) {
  const root = $('presence');
  const toggle = $('presence-toggle');
  const body = $('presence-body');
  const refusedBox = $('presence-refused');
  let refusedTimer = null;
  let current = null;

  toggle.addEventListener('click', () => {
    body.hidden = !body.hidden;
    toggle.setAttribute('aria-expanded', String(!body.hidden));
  });

  const nameOf = (p, session) => {
    const v = p.viewers.find((x) => x.session === session);
    const n = displayName(v ? v.user : null);
    return session === p.you ? `${n} (you)` : n;
  };

  function summary(p, me) {
    const count = `${p.viewers.length} viewer${p.viewers.length === 1 ? '' : 's'}`;
    if (!me) return count;
    if (me.role === 'view') return `${count} · view only`;
    if (me.canType) return `${count} · ${p.exclusive ? 'you have control' : 'you can type'}`;
    if (p.exclusive && p.holder) return `${count} · ${nameOf(p, p.holder)} has control`;
    return `${count} · you cannot type now`;
  }

  function typingLine(p) {
    const typists = p.viewers.filter((v) => v.canType).map((v) => nameOf(p, v.session));
    if (p.exclusive) return `Sole control: ${p.holder ? nameOf(p, p.holder) : 'nobody'}`;
    return `Can type: ${typists.length ? typists.join(', ') : 'nobody'}`;
  }

  function render(p) {
    const me = p.viewers.find((v) => v.session === p.you) || null;
    root.hidden = false;
    root.dataset.recording = String(p.recording);
    $('presence-summary').textContent = summary(p, me);
    $('presence-rec').hidden = !p.recording;
    $('presence-typing').textContent = typingLine(p);
    $('presence-last').textContent = p.lastInput
      ? `Last input: ${p.lastInput.session === p.you ? `${displayName(p.lastInput.user)} (you)` : displayName(p.lastInput.user)} at ${clock(p.lastInput.at)}`
      : 'Last input: none yet';

    const list = $('presence-list');
    list.replaceChildren();
    const iHold = p.exclusive && me && p.holder === me.session;
    for (const v of p.viewers) {
      const li = el('li', 'viewer');
      li.dataset.session = v.session;
      li.append(el('span', 'viewer-name', displayName(v.user)));
      if (v.session === p.you) li.append(el('span', 'tag you', 'you'));
      li.append(el('span', `tag role-${v.role}`, v.role === 'control' ? 'control' : 'view'));
      if (v.canType) li.append(el('span', 'tag typing', p.exclusive ? 'has control' : 'can type'));
      li.title = `${displayName(v.user)}: ${v.role === 'control' ? 'control link' : 'view-only link'}, connected since ${clock(v.since)}`;
      if (iHold && v.session !== p.you && v.role === 'control') {
        const b = el('button', 'hand-over', 'Hand control');
        b.type = 'button';
        b.dataset.to = v.session;
        b.title = `Hand control to ${displayName(v.user)}`;
        b.addEventListener('click', () => onRequest({ type: 'hand-over', to: v.session }));
        li.append(b);
      }
      list.append(li);
    }

    const take = $('presence-take');
    // Only an exclusive console has someone to take control from.
    take.hidden = !(p.exclusive && me && me.role === 'control' && p.holder !== me.session);
  }

  $('presence-take').addEventListener('click', () => onRequest({ type: 'take-control' }));

  return {
    /** Shows a presence message; returns this viewer's own entry (null when the proxy did not list it). */
    update(p) {
      current = p;
      render(p);
      return p.viewers.find((v) => v.session === p.you) || null;
    },
    refused(m) {
      const what = { 'hand-over': 'Hand-over', 'take-control': 'Take control' }[m.request] || 'Request';
      refusedBox.textContent = `${what} refused: ${m.reason}`;
      refusedBox.hidden = false;
      clearTimeout(refusedTimer);
      refusedTimer = setTimeout(() => {
        refusedBox.hidden = true;
      }, REFUSED_SHOWN_MS);
    },
    /** A new connection: the old list is stale until the proxy sends one. */
    reset() {
      current = null;
      root.hidden = true;
    },
    get current() {
      return current;
    },
  };
}
