/** Types into a noVNC canvas (Ironic's vnc_lite.html or our viewer) and waits for the keys at the emulated host. */
import type { Page } from 'playwright-core';
import type { RunningEmulator } from '@bmc-console/bmc-emulator/emulator';
import { until } from '../../src/until.js';

export async function typeIntoKvm(page: Page, emu: RunningEmulator, text: string): Promise<void> {
  const box = await page.locator('#screen canvas').first().boundingBox();
  if (!box) throw new Error('no noVNC canvas on the page');
  // A click focuses noVNC's keyboard input (and is the host's click).
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await page.keyboard.type(text, { delay: 40 });
  await until(`"${text}" typed at the emulated host`, () => emu.state().typed.includes(text), 30_000);
}
