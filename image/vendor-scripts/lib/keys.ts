/** Typing into BMC forms with the configured key pacing (some BMC UIs drop keys typed too fast). */
import type { Locator } from '../../src/cdp/locator.js';
import type { ConsoleContext } from '../../src/vendor-script.js';
import { abortable } from './wait.js';

export async function typeInto(ctx: ConsoleContext, field: Locator, text: string): Promise<void> {
  await abortable(ctx.signal, field.fill(''));
  if (ctx.keys.keyDelayMs > 0)
    await abortable(ctx.signal, field.pressSequentially(text, { delay: ctx.keys.keyDelayMs }));
  else await abortable(ctx.signal, field.fill(text));
}
