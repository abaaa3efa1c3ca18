/** Debian noVNC's vnc_lite.html as Ironic serves it: its status line, and the KVM marker on its canvas. */
import type { Page } from 'playwright-core';
import type { Colour } from '../../src/screen.js';
import { decodePng, findColourBlock } from '../../src/screen.js';
import { until } from '../../src/until.js';

export async function noVncStatus(page: Page): Promise<string> {
  return (await page.textContent('#status').catch(() => null)) ?? '';
}

/** Waits until noVNC says it is connected and the marker square is in a screenshot of the page. */
export async function waitForKvm(
  page: Page,
  marker: Colour,
  what: string,
  timeoutMs = 120_000,
): Promise<{ x: number; y: number }> {
  await until(
    `noVNC to connect (${what})`,
    async () => /connected/i.test(await noVncStatus(page)) && !/disconnect/i.test(await noVncStatus(page)),
    60_000,
    500,
  );
  return until(
    `the KVM marker on the screen (${what})`,
    async () => findColourBlock(decodePng(await page.screenshot()), marker, 12),
    timeoutMs,
    500,
  );
}
