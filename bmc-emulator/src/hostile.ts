/**
 * Hostile mode: every HTML page the emulator serves (login pages, KVM pages) also carries static/hostile.js, which
 * tries from inside the console's browser to reach what a BMC's page must never reach (the host agent's API, the
 * proxy, other consoles, local files, popups, downloads, DevTools) and reports each attempt's outcome back to this
 * emulator (POST /__hostile/report). Tests read the outcomes from the emulator's state.
 */
import type { ServerResponse } from 'node:http';
import { readStaticFile } from './static-files.js';
import { jsonBody, scriptJson, sendHtml, sendJson, sendText, type Req, type Res } from './http.js';
import { hexToken } from './state.js';

/** Ports a hostile page guesses on every address, next to the real ones it is given. */
export const GUESSED_PORTS: readonly number[] = [
  80, 443, 3000, 5900, 5901, 6080, 6090, 6091, 8000, 8080, 8443, 9090, 9222,
];

export interface HostileOptions {
  /** Addresses to aim at: this machine's own (127.0.0.1, 10.0.2.2 under slirp4netns, its interface addresses). */
  hosts: string[];
  /** Real ports to aim at (agent API, proxy, other consoles' VNC); GUESSED_PORTS are added. */
  ports?: number[];
  /** Node names for the form POST to /v1/consoles/<node>/urls and the websocket upgrades (default: the emulator's node). */
  nodes?: string[];
  /** Bound of one attempt, ms (default 4000). */
  attemptTimeoutMs?: number;
}

/** What the page saw of one attempt: "unknown" when a browser gives a page no way to tell (forms, frames, downloads). */
type HostileOutcome = 'reached' | 'failed' | 'unknown';

export interface HostileAttempt {
  /** The reporting page's path ("frame:" first when it ran in a frame). */
  page: string;
  kind: string;
  target: string;
  outcome: HostileOutcome;
  detail: string;
}

export interface HostileSnapshot {
  /** Pages that started their attempts, and whether they finished them. */
  pages: { page: string; done: boolean; attempts: number }[];
  attempts: HostileAttempt[];
  /** Requests for the popup page and the download (the browser asked; whether a window or file appeared is the test's to check). */
  popupLoads: number;
  downloadRequests: number;
  /** Text inside the download's body, to look for on the console's disk. */
  downloadMarker: string;
}

const KINDS = new Set([
  'fetch-cors',
  'fetch-no-cors',
  'xhr',
  'form-text-plain',
  'img',
  'script',
  'websocket',
  'file-fetch',
  'file-frame',
  'file-navigation',
  'file-window',
  'window-open',
  'download-anchor',
  'download-attachment',
  'devtools-window',
  'devtools-frame',
  'chrome-frame',
  'devtools-keys',
  'form-insecure-window',
  'form-insecure-top',
  'window-open-click',
]);
/** Attempts that may replace the page: it reports "reached" before, and a later report of the same attempt replaces that. */
const SELF_REPLACING = new Set(['form-insecure-top']);
const OUTCOMES = new Set<HostileOutcome>(['reached', 'failed', 'unknown']);
const MAX_ATTEMPTS = 20_000;

let script: string | undefined;

export interface Hostile {
  /** Serves /__hostile/* (probe script, reports, popup page, download); false for other paths. */
  route(req: Req, res: Res): boolean;
  /** Makes an HTML response carry the probe script. */
  inject(res: ServerResponse): void;
  snapshot(): HostileSnapshot;
}

export function createHostile(o: HostileOptions, defaultNode: string): Hostile {
  const marker = `bmc-hostile-download-${hexToken(8)}`;
  const pages = new Map<string, { done: boolean; attempts: number }>();
  const attempts: HostileAttempt[] = [];
  let popupLoads = 0;
  let downloadRequests = 0;
  const config = {
    hosts: o.hosts,
    ports: [...new Set([...(o.ports ?? []), ...GUESSED_PORTS])],
    realPorts: [...new Set(o.ports ?? [])],
    nodes: o.nodes?.length ? o.nodes : [defaultNode],
    timeoutMs: o.attemptTimeoutMs ?? 4000,
  };

  const record = (body: unknown): string | undefined => {
    if (!body || typeof body !== 'object') return 'expected a JSON object';
    const b = body as { page?: unknown; attempts?: unknown; done?: unknown };
    if (typeof b.page !== 'string' || b.page.length > 300) return 'page: expected a path';
    const p = pages.get(b.page) ?? { done: false, attempts: 0 };
    pages.set(b.page, p);
    if (b.done === true) p.done = true;
    if (b.attempts === undefined) return undefined;
    if (!Array.isArray(b.attempts)) return 'attempts: expected an array';
    for (const a of b.attempts as unknown[]) {
      const x = a as Partial<Record<keyof HostileAttempt, unknown>>;
      if (attempts.length >= MAX_ATTEMPTS) return 'too many attempts';
      if (
        typeof x.kind !== 'string' ||
        !KINDS.has(x.kind) ||
        typeof x.target !== 'string' ||
        !OUTCOMES.has(x.outcome as HostileOutcome)
      )
        return 'attempt: expected {kind, target, outcome}';
      const attempt: HostileAttempt = {
        page: b.page,
        kind: x.kind,
        target: x.target.slice(0, 300),
        outcome: x.outcome as HostileOutcome,
        detail: String(x.detail ?? '').slice(0, 300),
      };
      const earlier = SELF_REPLACING.has(attempt.kind)
        ? attempts.findIndex((e) => e.page === attempt.page && e.kind === attempt.kind && e.target === attempt.target)
        : -1;
      if (earlier >= 0) attempts[earlier] = attempt;
      else {
        attempts.push(attempt);
        p.attempts++;
      }
    }
    return undefined;
  };

  return {
    route(req, res) {
      if (!req.path.startsWith('/__hostile/')) return false;
      if (req.path === '/__hostile/probe.js') {
        script ??= readStaticFile('hostile.js');
        sendText(res, 200, 'text/javascript; charset=utf-8', `window.__HOSTILE = ${scriptJson(config)};\n${script}`);
      } else if (req.path === '/__hostile/report' && req.method === 'POST') {
        const err = record(jsonBody(req));
        sendJson(res, err ? 400 : 200, err ? { error: err } : { ok: true });
      } else if (req.path === '/__hostile/popup') {
        popupLoads++;
        sendHtml(
          res,
          200,
          '<!doctype html><html><head><title>hostile popup</title></head><body style="background:#fff"><h1>POPUP FROM THE BMC</h1></body></html>',
        );
      } else if (req.path === '/__hostile/download') {
        downloadRequests++;
        sendText(res, 200, 'application/octet-stream', `${marker}\n`, {
          'content-disposition': `attachment; filename="${marker}.txt"`,
        });
      } else sendJson(res, 404, { error: `no such page: ${req.path}` });
      return true;
    },
    inject(res) {
      injectScript(res, '<script src="/__hostile/probe.js"></script>');
    },
    snapshot: () => ({
      pages: [...pages].map(([page, p]) => ({ page, ...p })),
      attempts: [...attempts],
      popupLoads,
      downloadRequests,
      downloadMarker: marker,
    }),
  };
}

/** Adds `tag` to the response's body when it turns out to be HTML (vendor pages write head and body in one go). */
function injectScript(res: ServerResponse, tag: string): void {
  let html = false;
  const writeHead = res.writeHead.bind(res) as (...a: unknown[]) => ServerResponse;
  const end = res.end.bind(res) as (...a: unknown[]) => ServerResponse;
  const patchedWriteHead = (...args: unknown[]): ServerResponse => {
    const headers = args.find(
      (a): a is Record<string, unknown> => typeof a === 'object' && a !== null && !Array.isArray(a),
    );
    html = String(headers?.['content-type'] ?? res.getHeader('content-type') ?? '').startsWith('text/html');
    if (html && headers) delete headers['content-length'];
    return writeHead(...args);
  };
  const patchedEnd = (...args: unknown[]): ServerResponse => {
    const [chunk] = args;
    if (html && (typeof chunk === 'string' || Buffer.isBuffer(chunk))) {
      const text = String(chunk);
      const at = text.search(/<\/head>|<body[^>]*>/i);
      args[0] = at < 0 ? `${tag}${text}` : `${text.slice(0, at)}${tag}${text.slice(at)}`;
    }
    return end(...args);
  };
  res.writeHead = patchedWriteHead as unknown as ServerResponse['writeHead'];
  res.end = patchedEnd as unknown as ServerResponse['end'];
}
