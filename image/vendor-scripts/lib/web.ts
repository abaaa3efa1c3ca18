/**
 * HTTP to the BMC's web API from inside the kiosk page (fetch on the BMC's origin): it goes through Chromium's
 * own network stack, so the BMC's cookies land in the browser's jar and TLS follows the browser's trust
 * (the supervisor pins the BMC certificate or imports the CA with Chromium flags, which a Node-side request
 * would not see).
 */
import type { Response } from '../../src/cdp/page.js';
import type { ConsoleContext } from '../../src/vendor-script.js';
import { failure, toConsoleFailure } from '../../src/console-failure.js';
import { abortable } from './wait.js';

function bmcUrl(ctx: ConsoleContext, path: string): string {
  return new URL(path, `${ctx.bmc.origin}/`).href;
}

/** The BMC's host[:port] as the vendor viewers expect it in their ?ip= parameters. */
export function bmcHost(ctx: ConsoleContext): string {
  return new URL(ctx.bmc.origin).host;
}

export interface WebRequest {
  method?: 'GET' | 'POST' | 'DELETE' | 'PATCH' | 'PUT';
  headers?: Record<string, string>;
  /** JSON body (sent as application/json unless headers say otherwise). */
  data?: unknown;
  /** application/x-www-form-urlencoded body. */
  form?: Record<string, string>;
  timeoutMs?: number;
  /**
   * 'omit' for requests that carry their own auth (X-Auth-Token): no cookies, and no browser login prompt when
   * the BMC answers 401 with WWW-Authenticate (an expired session's logout would otherwise hang on the prompt).
   */
  credentials?: 'include' | 'omit';
}

/** The answer of web(): status, headers and body (the shape of Playwright's APIResponse, which scripts used first). */
export class WebResponse {
  constructor(
    private readonly code: number,
    private readonly head: Record<string, string>,
    private readonly body: string,
  ) {}
  status(): number {
    return this.code;
  }
  /** Lower-case header names. */
  headers(): Record<string, string> {
    return this.head;
  }
  text(): Promise<string> {
    return Promise.resolve(this.body);
  }
  json(): Promise<unknown> {
    return Promise.resolve(JSON.parse(this.body) as unknown);
  }
}

/** Puts the kiosk page on the BMC origin (its Redfish service root: small, unauthenticated) if it is not there. */
async function onOrigin(ctx: ConsoleContext): Promise<void> {
  let here = '';
  try {
    here = new URL(ctx.page.url()).origin;
  } catch {
    // about:blank and friends
  }
  if (here === new URL(ctx.bmc.origin).origin) return;
  await goto(ctx, `${ctx.bmc.rootPrefix}/`, 'Connecting to the BMC web server');
}

interface FetchArgs {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
  timeoutMs: number;
  credentials: 'include' | 'omit';
}
type FetchResult =
  | { ok: true; status: number; headers: Record<string, string>; body: string }
  | { ok: false; error: string };

// Runs in the page.
async function pageFetch(a: FetchArgs): Promise<FetchResult> {
  try {
    const res = await fetch(a.url, {
      method: a.method,
      headers: a.headers,
      body: a.body,
      credentials: a.credentials,
      cache: 'no-store',
      signal: AbortSignal.timeout(a.timeoutMs),
    });
    const headers: Record<string, string> = {};
    res.headers.forEach((v, k) => {
      headers[k] = v;
    });
    return { ok: true, status: res.status, headers, body: await res.text() };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
}

/** One request; network errors become ConsoleFailures named after `what`. HTTP statuses are the caller's. */
export async function web(ctx: ConsoleContext, path: string, what: string, req: WebRequest = {}): Promise<WebResponse> {
  await onOrigin(ctx);
  const headers: Record<string, string> = { ...(req.headers ?? {}) };
  let body: string | undefined;
  if (req.form) {
    body = new URLSearchParams(req.form).toString();
    headers['Content-Type'] ??= 'application/x-www-form-urlencoded';
  } else if (req.data !== undefined) {
    body = typeof req.data === 'string' ? req.data : JSON.stringify(req.data);
    if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type'))
      headers['Content-Type'] = 'application/json';
  }
  const args: FetchArgs = {
    url: bmcUrl(ctx, path),
    method: req.method ?? 'GET',
    headers,
    body,
    timeoutMs: req.timeoutMs ?? 20_000,
    credentials: req.credentials ?? 'include',
  };
  let r: FetchResult;
  for (let attempt = 1; ; attempt++) {
    try {
      r = await abortable(ctx.signal, ctx.page.evaluate(pageFetch, args));
    } catch (e) {
      // The page navigated away under us (a vendor page redirecting): get back on the origin and retry once.
      if (attempt < 2 && e instanceof Error && /context was destroyed|navigat/i.test(e.message)) {
        await onOrigin(ctx);
        continue;
      }
      throw toConsoleFailure(e, what, secrets(ctx));
    }
    // "Failed to fetch" also covers ERR_NETWORK_CHANGED: one retry.
    if (!r.ok && attempt < 2 && /Failed to fetch/i.test(r.error)) continue;
    break;
  }
  if (!r.ok) {
    if (/Timeout/i.test(r.error)) throw failure('unreachable', `${what}: the BMC did not answer in time`);
    throw failure('unreachable', `${what}: the request failed (${r.error})`);
  }
  return new WebResponse(r.status, r.headers, r.body);
}

/** Parses a JSON answer, or undefined when the body is not JSON. */
export async function jsonOf(res: WebResponse): Promise<Record<string, unknown> | undefined> {
  try {
    const v: unknown = await res.json();
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Navigates the kiosk page; connection and TLS errors become ConsoleFailures. */
export async function goto(ctx: ConsoleContext, pathOrUrl: string, what: string): Promise<Response | null> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await abortable(
        ctx.signal,
        ctx.page.goto(bmcUrl(ctx, pathOrUrl), { waitUntil: 'domcontentloaded', timeout: 30_000 }),
      );
    } catch (e) {
      if (e instanceof Error && /interrupted by another navigation/.test(e.message)) {
        // The vendor page navigated at the same moment (after its login); if that went where we wanted, fine.
        await ctx.page.waitForLoadState('domcontentloaded').catch(() => undefined);
        if (ctx.page.url() === bmcUrl(ctx, pathOrUrl)) return null;
        if (attempt < 3) continue;
      }
      // Chromium aborts loads when the host's network configuration changes (containers starting); not the BMC's fault.
      if (attempt < 3 && e instanceof Error && /ERR_NETWORK_CHANGED|ERR_ABORTED/.test(e.message)) continue;
      throw toConsoleFailure(e, what, secrets(ctx, ...queryParts(bmcUrl(ctx, pathOrUrl))));
    }
  }
}

/** A URL's query strings, also one inside its #fragment (SPA routes carry console tokens there, e.g. XCC's). */
function queryParts(url: string): string[] {
  return url
    .split('?')
    .slice(1)
    .map((q) => q.split('#')[0]!)
    .filter((q) => q.length > 0);
}

/** Values that must never show up in a message: the password and anything the script marks secret. */
export function secrets(ctx: ConsoleContext, ...more: (string | undefined)[]): (string | undefined)[] {
  return [ctx.bmc.password, ...more];
}

/** Cookie value from the context jar for the BMC origin. */
export async function cookie(ctx: ConsoleContext, name: string): Promise<string | undefined> {
  const all = await ctx.context.cookies(ctx.bmc.origin);
  return all.find((c) => c.name === name)?.value;
}

/** Puts a cookie for the BMC origin into the jar (e.g. iLO's sessionKey from a Redfish session). */
export async function setCookie(ctx: ConsoleContext, name: string, value: string): Promise<void> {
  const u = new URL(ctx.bmc.origin);
  await ctx.context.addCookies([
    { name, value, domain: u.hostname, path: '/', secure: u.protocol === 'https:', sameSite: 'Lax' },
  ]);
}

/** Leaves the viewer (so it sends its close message) before the session is deleted. Never throws. */
export async function blank(ctx: ConsoleContext): Promise<void> {
  await ctx.page.goto('about:blank', { timeout: 5_000 }).catch(() => undefined);
}
