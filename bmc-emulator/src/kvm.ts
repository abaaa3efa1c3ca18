import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WebSocket } from 'ws';
import { packageRoot } from '@bmc-console/common/package-root';
import type { Ctx, UpgradeDecision } from './context.js';
import { escapeHtml, scriptJson } from './http.js';
import { kvmMarkerColor } from './marker.js';

const staticDir = join(packageRoot(import.meta.url), 'static');
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

function loadTemplate(): { html: string; js: string } {
  template ??= { html: readFileSync(join(staticDir, 'kvm.html'), 'utf8'), js: readFileSync(join(staticDir, 'kvm.js'), 'utf8') };
  return template;
}

/** The viewer script; it defines window.__kvmStart(config) for single-page UIs that start the console later. */
export function kvmScript(): string {
  return loadTemplate().js;
}

export function kvmConfig(ctx: Ctx, o: KvmPageOptions): Record<string, unknown> {
  return {
    profile: ctx.profile.name, label: ctx.profile.label, node: ctx.node, color: kvmMarkerColor(ctx.profile.name).hex,
    wsUrl: o.wsUrl, protocols: o.protocols ?? [], canvasId: o.canvasId ?? 'kvm-canvas', authMessage: o.authMessage ?? null,
    handshake: o.handshake ?? null,
  };
}

/** The KVM viewer page (static/kvm.html + kvm.js) configured for one profile and socket. */
export function kvmPage(ctx: Ctx, o: KvmPageOptions): string {
  const t = loadTemplate();
  const cfg = kvmConfig(ctx, o) as { canvasId: string };
  return t.html
    .replace('__KVM_TITLE__', () => escapeHtml(o.title))
    .replace('__KVM_CANVAS_ID__', () => escapeHtml(cfg.canvasId))
    .replace('window.__KVM = __KVM_CONFIG__;', () => (o.deferredStart ? `window.__KVM_BASE = ${scriptJson(cfg)};` : `window.__KVM = ${scriptJson(cfg)};`))
    .replace('__KVM_SCRIPT__', () => t.js)
    .replace('<!--__KVM_EXTRA__-->', () => o.extraHtml ?? '')
    .replace('</body>', () => (o.deferredStart ? `<script>${o.deferredStart}</script>\n</body>` : '</body>'));
}

/** Runs the emulator's private console protocol on an accepted socket (JSON messages after the vendor's auth). */
export function runKvmSocket(ctx: Ctx, ws: WebSocket, d: Extract<UpgradeDecision, { accept: true }>): void {
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
    if (m.type === 'key' && typeof m.key === 'string' && m.key.length <= 32) ctx.state.recordKey(m.key);
    else if (m.type === 'click' && typeof m.x === 'number' && typeof m.y === 'number') ctx.state.recordClick(m.x, m.y);
    else return;
    const clicks = ctx.state.clicks;
    ws.send(JSON.stringify({ type: 'input', typed: ctx.state.typed, clicks: clicks.length, last: clicks[clicks.length - 1] ?? null }));
  });
  ws.on('close', () => {
    if (session) ctx.state.closeKvm(session);
  });
}
