/**
 * Redfish from vendor scripts. Reads and OEM actions go through ctx.redfish (the RedfishClient, which honours
 * verify_ca); a Redfish *session* whose token or cookies the browser must reuse (iLO sessionKey, Supermicro
 * SID, OpenBMC cookies) is created inside the browser context, so its cookies land in the kiosk's jar.
 */
import type { ConsoleContext } from '../../src/vendor-script.js';
import { failure, httpFailure, toConsoleFailure } from '../../src/console-failure.js';
import { abortable } from './wait.js';
import { jsonOf, secrets, web } from './web.js';

type Json = Record<string, unknown>;

/** @public A helper for vendor scripts (docs/vendor-scripts.md), whether or not one uses it today. */
export async function rfGet(ctx: ConsoleContext, path: string, what: string): Promise<Json> {
  try {
    return asObject(await abortable(ctx.signal, ctx.redfish.get(path, { signal: ctx.signal })));
  } catch (e) {
    throw toConsoleFailure(e, what, secrets(ctx));
  }
}

export async function rfPost(
  ctx: ConsoleContext,
  path: string,
  body: unknown,
  what: string,
  sensitive: string[] = [],
): Promise<Json> {
  try {
    return asObject(await abortable(ctx.signal, ctx.redfish.post(path, body, { signal: ctx.signal })));
  } catch (e) {
    throw toConsoleFailure(e, what, secrets(ctx, ...sensitive));
  }
}

export async function rfPatch(ctx: ConsoleContext, path: string, body: unknown, what: string): Promise<Json> {
  try {
    return asObject(await abortable(ctx.signal, ctx.redfish.patch(path, body, { signal: ctx.signal })));
  } catch (e) {
    throw toConsoleFailure(e, what, secrets(ctx));
  }
}

/** Ends the RedfishClient's own session (scripts' close()); never throws. */
export async function redfishLogout(ctx: ConsoleContext): Promise<void> {
  await ctx.redfish.logout().catch(() => false);
}

/** GET that answers undefined for "not there" (404 / unsupported) instead of failing: for probing OEM resources. */
export async function rfProbe(ctx: ConsoleContext, path: string, what: string): Promise<Json | undefined> {
  try {
    return await rfGet(ctx, path, what);
  } catch (e) {
    if (e instanceof Error && 'kind' in e && (e as { kind: unknown }).kind === 'unsupported') return undefined;
    throw e;
  }
}

function asObject(v: unknown): Json {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    // Clients may hand back { status, headers, body } or the body itself.
    const o = v as Json;
    if ('body' in o && o.body !== null && typeof o.body === 'object' && 'status' in o) return o.body as Json;
    return o;
  }
  return {};
}

/** The manager's Redfish path: discovery's, else the family's usual id. */
export function managerPath(ctx: ConsoleContext, fallbackId: string): string {
  const d = ctx.discovery;
  if (d.managerPath) return d.managerPath;
  return `${ctx.bmc.rootPrefix}/Managers/${encodeURIComponent(d.managerId ?? fallbackId)}`;
}

export interface BrowserRedfishSession {
  /** X-Auth-Token, when the BMC sent one (not with OpenBMC's cookie login). */
  token: string | undefined;
  /** Session URI as a path (absolute Location headers are normalised). */
  location: string | undefined;
}

/** POST SessionService/Sessions from the browser context. Fails with 'auth' on 401/403. */
export async function browserSession(
  ctx: ConsoleContext,
  what: string,
  headers: Record<string, string> = {},
): Promise<BrowserRedfishSession> {
  const res = await web(ctx, `${ctx.bmc.rootPrefix}/SessionService/Sessions`, what, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    data: { UserName: ctx.bmc.username, Password: ctx.bmc.password },
  });
  if (res.status() === 401 || res.status() === 403) throw httpFailure(res.status(), what);
  if (res.status() >= 400) {
    const body = await jsonOf(res);
    throw httpFailure(res.status(), what, redfishMessage(body));
  }
  const h = res.headers();
  const token = h['x-auth-token'] || undefined;
  const loc = h.location;
  let location: string | undefined;
  if (loc) location = new URL(loc, `${ctx.bmc.origin}/`).pathname;
  else {
    const id = (await jsonOf(res))?.['@odata.id'];
    location = typeof id === 'string' ? id : undefined;
  }
  if (!token && !location)
    throw failure('bmc-error', `${what}: the BMC created no session (no X-Auth-Token, no Location)`);
  return { token, location };
}

/** DELETE a session made by browserSession; best effort, never throws. */
export async function deleteBrowserSession(
  ctx: ConsoleContext,
  s: BrowserRedfishSession,
  headers: Record<string, string> = {},
): Promise<void> {
  if (!s.location) return;
  const h: Record<string, string> = { ...headers };
  if (s.token) h['X-Auth-Token'] = s.token;
  try {
    const res = await web(ctx, s.location, 'Redfish logout', {
      method: 'DELETE',
      headers: h,
      timeoutMs: 5_000,
      credentials: s.token ? 'omit' : 'include',
    });
    if (res.status() >= 400 && res.status() !== 404)
      ctx.log.warn({ status: res.status() }, 'Redfish session logout failed');
  } catch (e) {
    ctx.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'Redfish session logout failed');
  }
}

/** The first Redfish @Message.ExtendedInfo message, for error texts. */
function redfishMessage(body: Json | undefined): string {
  const err = body?.error as Json | undefined;
  const info = err?.['@Message.ExtendedInfo'];
  if (Array.isArray(info)) {
    const m = (info[0] as Json | undefined)?.Message;
    if (typeof m === 'string') return m;
  }
  const m = err?.message;
  return typeof m === 'string' ? m : '';
}
