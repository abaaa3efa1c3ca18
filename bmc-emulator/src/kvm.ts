import { EventEmitter } from 'node:events';
import type { WebSocket } from 'ws';
import { readStaticFile } from './static-files.js';
import type { Ctx, UpgradeDecision, UpgradeReq } from './context.js';
import { escapeHtml, scriptJson } from './http.js';
import { kvmMarkerColor } from './marker.js';
import { IDRAC_DIALECT_BASE, type RfbDialect, type RfbHost, RfbServerSession } from './rfb/rfb-server.js';

let template: { html: string; js: string } | undefined;

export interface KvmPageOptions {
  /** Socket URL: a path on this origin, or an absolute wss:// URL (XCC viewer port). */
  wsUrl: string;
  protocols?: string[];
  title: string;
  canvasId?: string;
  /** Sent as the first socket message (XCC RPViewer credentials). */
  authMessage?: Record<string, unknown>;
  /** Vendor markup added to the page body (Supermicro #entry_value and recording modal). */
  extraHtml?: string;
  /** Script that starts the viewer later with window.__kvmStart(Object.assign({}, window.__KVM_BASE, ...)). */
  deferredStart?: string;
  /** Binary preamble the viewer answers: 'idrac' (f7 b3 -> 247,179,VCSID2,8x0) or 'ilo' (80 -> 34-byte hello with the session key). */
  handshake?: { kind: 'idrac' | 'ilo'; secret: string };
}

/** A key as the KVM socket received it: `at` is the wall clock in ms (performance.timeOrigin + now), like a page's. */
export interface KvmKeyEvent {
  node: string;
  key: string;
  at: number;
}

/** The KVM page's report that its redraw after an input went to the screen: `at` is the page's wall clock in ms. */
export interface KvmDrawnEvent {
  node: string;
  at: number;
}

/**
 * Every key the KVM sockets of this process receive, as it arrives, and every redraw the KVM pages report:
 * benchmarks split a keystroke's way there and back with them (the emulator runs in their process).
 */
export const kvmKeyEvents = new EventEmitter<{ key: [KvmKeyEvent]; drawn: [KvmDrawnEvent] }>();

/**
 * BMC_EMULATOR_KVM_ANIMATE=<fps> (1-60): the KVM screen redraws in full at that rate with a frame counter strip, a
 * moving screen for the frame-rate benchmark. Read when a page is served, so it can be set for one console only.
 */
function kvmAnimateFps(env: NodeJS.ProcessEnv = process.env): number {
  const fps = Number(env.BMC_EMULATOR_KVM_ANIMATE ?? 0);
  return Number.isInteger(fps) && fps >= 1 && fps <= 60 ? fps : 0;
}

function loadTemplate(): { html: string; js: string } {
  template ??= { html: readStaticFile('kvm.html'), js: readStaticFile('kvm.js') };
  return template;
}

/** The viewer script; it defines window.__kvmStart(config) for single-page UIs that start the console later. */
export function kvmScript(): string {
  return loadTemplate().js;
}

export function kvmConfig(ctx: Ctx, o: KvmPageOptions): Record<string, unknown> {
  return {
    profile: ctx.profile.name,
    label: ctx.profile.label,
    node: ctx.node,
    color: kvmMarkerColor(ctx.profile.name).hex,
    wsUrl: o.wsUrl,
    protocols: o.protocols ?? [],
    canvasId: o.canvasId ?? 'kvm-canvas',
    authMessage: o.authMessage ?? null,
    handshake: o.handshake ?? null,
    animateFps: kvmAnimateFps(),
  };
}

/** The KVM viewer page (static/kvm.html + kvm.js) configured for one profile and socket. */
export function kvmPage(ctx: Ctx, o: KvmPageOptions): string {
  const t = loadTemplate();
  const cfg = kvmConfig(ctx, o) as { canvasId: string };
  return t.html
    .replace('__KVM_TITLE__', () => escapeHtml(o.title))
    .replace('__KVM_CANVAS_ID__', () => escapeHtml(cfg.canvasId))
    .replace('window.__KVM = __KVM_CONFIG__;', () =>
      o.deferredStart ? `window.__KVM_BASE = ${scriptJson(cfg)};` : `window.__KVM = ${scriptJson(cfg)};`,
    )
    .replace('__KVM_SCRIPT__', () => t.js)
    .replace('<!--__KVM_EXTRA__-->', () => o.extraHtml ?? '')
    .replace('</body>', () => (o.deferredStart ? `<script>${o.deferredStart}</script>\n</body>` : '</body>'));
}

/**
 * The subprotocol the emulator's own KVM page (kvm.js) adds after the vendor's: its socket keeps the JSON protocol.
 * Any other client of a socket marked with speaksRfb() gets the BMC's real RFB dialect.
 */
export const PAGE_PROTOCOL = 'bmc-emulator.page';

type Accepted = Extract<UpgradeDecision, { accept: true }>;

/** Which RFB dialect a KVM socket speaks: obmc-ikvm behind bmcweb (OpenBMC, XCC3 /kvm/0) or iDRAC9's vconsole. */
type RfbDialectName = NonNullable<Accepted['rfb']>;

/**
 * Marks an accepted KVM upgrade as a real RFB socket in `dialect`, unless the emulator's own page opened it.
 * Returns the decision so vendors can wrap their return value.
 */
export function speaksRfb(d: UpgradeDecision, u: UpgradeReq, dialect: RfbDialectName): UpgradeDecision {
  return d.accept && !u.protocols.includes(PAGE_PROTOCOL) ? { ...d, rfb: dialect } : d;
}

/** BMC_EMULATOR_IDRAC_HEARTBEAT_MS: how long an iDRAC RFB viewer may stay silent (default 60 s, as the real one). */
function idracIdleMs(env: NodeJS.ProcessEnv = process.env): number {
  const ms = Number(env.BMC_EMULATOR_IDRAC_HEARTBEAT_MS ?? 60_000);
  return Number.isFinite(ms) && ms > 0 ? ms : 60_000;
}

function rfbDialect(name: RfbDialectName, d: Accepted): RfbDialect {
  if (name === 'obmc') return { name: 'OpenBMC IKVM' };
  const hs = d.handshake;
  return { ...IDRAC_DIALECT_BASE, idleTimeoutMs: idracIdleMs(), ...(hs ? { preamble: hs } : {}) };
}

/** Serves the emulated host's screen as RFB; sessions, keys and clicks count as runKvmSocket counts them. */
function runRfbSocket(ctx: Ctx, ws: WebSocket, d: Accepted, name: RfbDialectName): void {
  let session: ReturnType<Ctx['state']['openKvm']> | undefined;
  const color = kvmMarkerColor(ctx.profile.name);
  const host: RfbHost = {
    log: ctx.log,
    model: () => {
      const clicks = ctx.state.clicks;
      return {
        label: ctx.profile.label,
        node: ctx.node,
        color,
        now: Date.now(),
        typed: ctx.state.typed,
        clicks: clicks.length,
        last: clicks[clicks.length - 1] ?? null,
      };
    },
    admit: () => {
      if (ctx.faults.kvmBusy || ctx.state.liveKvm() >= ctx.profile.maxKvmSessions) {
        if (!ctx.faults.kvmBusy && d.overCap === 'shared') {
          session = ctx.state.openKvm(d.vendorPath, 'shared', d.launch?.());
          return { status: 'shared' };
        }
        return { status: 'busy', reason: d.busyMessage };
      }
      session = ctx.state.openKvm(d.vendorPath, 'ok', d.launch?.());
      return { status: 'ok' };
    },
    key: (key) => {
      kvmKeyEvents.emit('key', { node: ctx.node, key, at: performance.timeOrigin + performance.now() });
      ctx.state.recordKey(key);
    },
    click: (x, y) => ctx.state.recordClick(x, y),
    drawn: () => kvmKeyEvents.emit('drawn', { node: ctx.node, at: performance.timeOrigin + performance.now() }),
    closed: () => {
      if (session) ctx.state.closeKvm(session);
    },
  };
  new RfbServerSession(ws, rfbDialect(name, d), host);
}

/**
 * Runs a console socket: the BMC's RFB dialect when the vendor marked it (speaksRfb), else the emulator's private
 * protocol for its own page (JSON messages after the vendor's auth).
 */
export function runKvmSocket(ctx: Ctx, ws: WebSocket, d: Accepted): void {
  if (d.rfb) return runRfbSocket(ctx, ws, d, d.rfb);
  const hello = (status: string, message = '') => ws.send(JSON.stringify({ type: 'hello', status, message }));
  let session: ReturnType<Ctx['state']['openKvm']> | undefined;
  const start = () => {
    if (ctx.faults.kvmBusy || ctx.state.liveKvm() >= ctx.profile.maxKvmSessions) {
      if (!ctx.faults.kvmBusy && d.overCap === 'shared') {
        // iDRAC: the joiner becomes a shared viewer and gets no video ("Deny Access" default).
        session = ctx.state.openKvm(d.vendorPath, 'shared', d.launch?.());
        hello('shared', 'Session is shared: waiting for the current user to grant access. No video.');
        return;
      }
      hello('busy', d.busyMessage);
      ws.close(4001, 'busy');
      return;
    }
    session = ctx.state.openKvm(d.vendorPath, 'ok', d.launch?.());
    hello('ok');
  };
  let shaken = !d.handshake;
  let authed = !d.authMessage;
  if (d.handshake) ws.send(Buffer.from(d.handshake.challenge));
  else if (authed) start();
  ws.on('message', (data, isBinary) => {
    if (!shaken) {
      const ok = isBinary && d.handshake?.check(Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer));
      if (!ok) {
        hello('denied', 'Console handshake failed.');
        ws.close(4003, 'denied');
        return;
      }
      shaken = true;
      if (d.handshake?.confirm) ws.send(Buffer.from(d.handshake.confirm));
      if (authed) start();
      return;
    }
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(String(data)) as Record<string, unknown>;
    } catch {
      return;
    }
    if (!authed) {
      if (d.authMessage?.(m)) {
        authed = true;
        start();
      } else {
        hello('denied', 'Login denied (result code 1).');
        ws.close(4003, 'denied');
      }
      return;
    }
    if (session?.status !== 'ok') return;
    if (m.type === 'drawn') {
      if (typeof m.at === 'number') kvmKeyEvents.emit('drawn', { node: ctx.node, at: m.at });
      return;
    }
    if (m.type === 'key' && typeof m.key === 'string' && m.key.length <= 32) {
      kvmKeyEvents.emit('key', { node: ctx.node, key: m.key, at: performance.timeOrigin + performance.now() });
      ctx.state.recordKey(m.key);
    } else if (m.type === 'click' && typeof m.x === 'number' && typeof m.y === 'number')
      ctx.state.recordClick(m.x, m.y);
    else return;
    const clicks = ctx.state.clicks;
    ws.send(
      JSON.stringify({
        type: 'input',
        typed: ctx.state.typed,
        clicks: clicks.length,
        last: clicks[clicks.length - 1] ?? null,
      }),
    );
  });
  ws.on('close', () => {
    if (session) ctx.state.closeKvm(session);
  });
}
