import type { Ctx } from '../context.js';
import type { Session } from '../state.js';

/** The web session a cookie names, if live. */
export function cookieSession(
  ctx: Ctx,
  req: { cookies: Record<string, string> },
  name: string,
  alsoRedfish = false,
): Session | undefined {
  return ctx.state.findByToken(req.cookies[name], alsoRedfish ? ['web', 'redfish'] : ['web']);
}

export function webSessionsFull(ctx: Ctx): boolean {
  return ctx.state.count('web') >= ctx.profile.maxWebSessions;
}

/** Strips the double quotes iDRAC9's login puts around header credentials. */
export function unquote(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
}

export function hostOnly(ctx: Ctx): string {
  return ctx.hostPort().replace(/:\d+$/, '');
}

export function portOnly(ctx: Ctx): string {
  return ctx.hostPort().replace(/^.*:/, '');
}
