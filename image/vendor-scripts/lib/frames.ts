/** Old vendor UIs nest their forms in framesets (iLO 4, iDRAC7/8, Supermicro classic): find a selector in any frame. */
import type { Frame } from '../../src/cdp/frame.js';
import type { Page } from '../../src/cdp/page.js';
import { sleep } from './wait.js';

export async function frameWith(
  page: Page,
  selector: string,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<Frame | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const f of page.frames()) {
      const visible = await f
        .locator(selector)
        .first()
        .isVisible()
        .catch(() => false);
      if (visible) return f;
    }
    if (Date.now() >= deadline) return null;
    await sleep(200, signal);
  }
}
