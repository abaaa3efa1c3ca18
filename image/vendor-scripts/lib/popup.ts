/**
 * Some vendor UIs open the KVM in a popup window (iDRAC form login, iDRAC7/8 "Launch", AMI viewer.html).
 * The kiosk shows one page only, so the popup's address is taken over by the kiosk page and the popup closed.
 */
import type { Page } from 'playwright-core';
import type { ConsoleContext } from 'bmc-console/vendor-script';
import { abortable } from './wait.js';
import { goto } from './web.js';

/** Runs `trigger`, waits for the window it opens, and moves its address into the kiosk page. Null if none opened. */
export async function adoptPopup(ctx: ConsoleContext, trigger: () => Promise<void>, timeoutMs = 20_000): Promise<string | null> {
  const popup = ctx.context.waitForEvent('page', { timeout: timeoutMs }).catch(() => null);
  await trigger();
  const p: Page | null = await abortable(ctx.signal, popup);
  if (!p) return null;
  try {
    await abortable(ctx.signal, p.waitForURL((u) => u.protocol !== 'about:', { timeout: timeoutMs })).catch(() => undefined);
    const url = p.url();
    await p.close().catch(() => undefined);
    if (url.startsWith('about:')) return null;
    await goto(ctx, url, 'Opening the console');
    return url;
  } finally {
    if (!p.isClosed()) await p.close().catch(() => undefined);
  }
}
