/**
 * Per-console state a script needs between open() and close() (session URIs, CSRF tokens). Scripts are
 * shared singletons, so the state hangs off the console's page, which lives exactly as long as the console.
 */
import type { Page } from '../../src/cdp/page.js';
import type { ConsoleContext } from '../../src/vendor-script.js';

export class ConsoleState<T> {
  private readonly byPage = new WeakMap<Page, T>();

  get(ctx: ConsoleContext): T | undefined {
    return this.byPage.get(ctx.page);
  }

  set(ctx: ConsoleContext, value: T): void {
    this.byPage.set(ctx.page, value);
  }

  /** Returns the state and forgets it (close() uses this so a second close does nothing). */
  take(ctx: ConsoleContext): T | undefined {
    const v = this.byPage.get(ctx.page);
    this.byPage.delete(ctx.page);
    return v;
  }
}
