import type { IncomingMessage, ServerResponse } from 'node:http';

/** One parsed request as every route handler sees it. */
export interface Req {
  raw: IncomingMessage;
  method: string;
  url: URL;
  /** Path with a trailing slash removed (except for "/"), for matching. */
  path: string;
  headers: IncomingMessage['headers'];
  cookies: Record<string, string>;
  body: Buffer;
}

export type Res = ServerResponse;

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    const k = part.slice(0, i).trim();
    if (k) out[k] = decodeURIComponent(part.slice(i + 1).trim());
  }
  return out;
}

export function normalisePath(p: string): string {
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

export async function readRequest(raw: IncomingMessage, base: string): Promise<Req> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of raw as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > 1_000_000) throw new Error('request body too large');
    chunks.push(c);
  }
  const url = new URL(raw.url ?? '/', base);
  return {
    raw,
    method: (raw.method ?? 'GET').toUpperCase(),
    url,
    path: normalisePath(url.pathname),
    headers: raw.headers,
    cookies: parseCookies(raw.headers.cookie),
    body: Buffer.concat(chunks),
  };
}

export function header(req: Req, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** JSON body of a request, or undefined when it is not JSON. */
export function jsonBody(req: Req): unknown {
  try {
    return req.body.length ? JSON.parse(req.body.toString('utf8')) : undefined;
  } catch {
    return undefined;
  }
}

export function formBody(req: Req): URLSearchParams {
  return new URLSearchParams(req.body.toString('utf8'));
}

export function isFormEncoded(req: Req): boolean {
  return (header(req, 'content-type') ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded');
}

export interface CookieOpts {
  httpOnly?: boolean;
  sameSite?: 'Strict' | 'Lax' | 'None';
  path?: string;
  maxAge?: number;
}

export function cookie(name: string, value: string, o: CookieOpts = {}): string {
  let s = `${name}=${value}; Path=${o.path ?? '/'}; Secure`;
  if (o.httpOnly) s += '; HttpOnly';
  if (o.sameSite) s += `; SameSite=${o.sameSite}`;
  if (o.maxAge !== undefined) s += `; Max-Age=${o.maxAge}`;
  return s;
}

export function addSetCookie(res: Res, value: string): void {
  const prev = res.getHeader('set-cookie');
  const list = Array.isArray(prev) ? prev : prev ? [String(prev)] : [];
  res.setHeader('set-cookie', [...list, value]);
}

export function sendJson(res: Res, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body, null, 1);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(text);
}

export function sendText(
  res: Res,
  status: number,
  type: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...headers });
  res.end(body);
}

export function sendHtml(res: Res, status: number, html: string, headers: Record<string, string> = {}): void {
  sendText(res, status, 'text/html; charset=utf-8', html, headers);
}

export function redirect(res: Res, location: string, status = 302): void {
  res.writeHead(status, { location, 'content-type': 'text/html; charset=utf-8' });
  res.end(`<html><body>Moved: <a href="${escapeHtml(location)}">${escapeHtml(location)}</a></body></html>`);
}

export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

/** JSON for embedding inside an inline <script>. */
export function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c');
}

/** Basic-auth credentials of a request, if any. */
export function basicAuth(req: Req): { user: string; password: string } | undefined {
  const h = header(req, 'authorization');
  if (!h || !/^basic /i.test(h)) return undefined;
  const dec = Buffer.from(h.slice(6).trim(), 'base64').toString('utf8');
  const i = dec.indexOf(':');
  return i < 0 ? undefined : { user: dec.slice(0, i), password: dec.slice(i + 1) };
}

/** A plain HTML page with the neutral look every login page shares (no marker colours). */
export function page(title: string, body: string, head = ''): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:sans-serif;background:#f2f2f2;color:#222;margin:2em}input,button{font-size:16px;margin:4px}
.box{background:#fff;border:1px solid #bbb;padding:1.5em;max-width:420px}.err{color:#222;font-weight:bold}</style>${head}</head>
<body>${body}</body></html>`;
}
