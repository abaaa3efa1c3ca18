/**
 * Playwright-style locators over the driver's frames: a locator is a scope (a frame, or a frame locator that finds
 * its frame when asked) and a selector; each question goes to the page as one call of SELECTOR_ENGINE. Waits poll
 * every 100 ms until their deadline; a navigation in between (no execution context, or it goes mid-call) only
 * means "poll again". Clicks and typing are CDP Input events: there the script acts as the user on purpose.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Frame } from './frame.js';
import {
  type ElementState,
  type PrepareAnswer,
  SELECTOR_ENGINE,
  type SelectorOp,
  type ValueAnswer,
} from './selector-engine.js';
import { TimeoutError } from './wait-event.js';

const POLL_MS = 100;
const DEFAULT_TIMEOUT_MS = 30_000;
/** How long the questions that do not wait (isVisible, count) wait for a document before answering "nothing". */
const NO_WAIT_CONTEXT_MS = 1_000;

export interface RoleOptions {
  name?: string | RegExp;
  exact?: boolean;
}

type WaitForState = 'visible' | 'attached' | 'hidden' | 'detached';

/** getByRole as a selector, in Playwright's notation: `internal:role=link[name="Submit"i]`. */
export function roleSelector(role: string, o: RoleOptions = {}): string {
  if (o.name === undefined) return `internal:role=${role}`;
  const name =
    o.name instanceof RegExp ? `/${o.name.source}/${o.name.flags}` : `${JSON.stringify(o.name)}${o.exact ? 's' : 'i'}`;
  return `internal:role=${role}[name=${name}]`;
}

/** Thrown inside a wait when the page cannot answer yet: the wait polls again. */
class NotYet extends Error {}

function isContextLoss(err: unknown): boolean {
  return (
    err instanceof NotYet ||
    (err instanceof Error &&
      /Execution context was destroyed|Cannot find context|context with specified id|Inspected target navigated/i.test(
        err.message,
      ))
  );
}

/** `work`, or a NotYet when it is still running at `deadline` (a handle it brings later is released). */
function beforeDeadline<T>(work: Promise<T>, deadline: number, onLate?: (late: T) => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let late = false;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => {
        late = true;
        reject(new NotYet('no answer before the deadline'));
      },
      Math.max(0, deadline - Date.now()),
    );
  });
  work.then(
    (v) => {
      if (late) onLate?.(v);
    },
    () => undefined,
  );
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

type Scope = Frame | FrameLocator;

/** The frame a scope stands for now; null while a frame locator's frame is not there. */
async function frameOf(scope: Scope, deadline: number): Promise<Frame | null> {
  if (scope instanceof FrameLocator) return scope.currentFrame(deadline);
  if (scope.page().isClosed()) throw new Error('Target page, context or browser has been closed');
  if (scope.isDetached()) throw new Error('Frame was detached');
  return scope;
}

function strictError(action: string, what: string, count: number): Error {
  return new Error(`${action}: strict mode violation: ${what} resolved to ${count} elements`);
}

interface Quad {
  quads: number[][];
}

/** CDP key fields for one typed character (US layout for the keys that have codes; text is what counts). */
function keyFields(ch: string): { key: string; code?: string; windowsVirtualKeyCode?: number; text: string } {
  if (ch === '\n' || ch === '\r') return { key: 'Enter', code: 'Enter', windowsVirtualKeyCode: 13, text: '\r' };
  if (/^[a-z]$/i.test(ch)) {
    const upper = ch.toUpperCase();
    return { key: ch, code: `Key${upper}`, windowsVirtualKeyCode: upper.charCodeAt(0), text: ch };
  }
  if (/^[0-9]$/.test(ch)) return { key: ch, code: `Digit${ch}`, windowsVirtualKeyCode: ch.charCodeAt(0), text: ch };
  if (ch === ' ') return { key: ' ', code: 'Space', windowsVirtualKeyCode: 32, text: ch };
  return { key: ch, text: ch };
}

export class FrameLocator {
  constructor(
    private readonly scope: Scope,
    readonly selector: string,
  ) {}

  locator(selector: string): Locator {
    return new Locator(this, selector);
  }
  getByRole(role: string, o: RoleOptions = {}): Locator {
    return new Locator(this, roleSelector(role, o));
  }
  frameLocator(selector: string): FrameLocator {
    return new FrameLocator(this, selector);
  }

  toString(): string {
    const outer = this.scope instanceof FrameLocator ? `${this.scope}.` : '';
    return `${outer}frameLocator('${this.selector}')`;
  }

  /** The frame shown by the (single) element the selector matches now; null while there is none. */
  async currentFrame(deadline: number): Promise<Frame | null> {
    const parent = await frameOf(this.scope, deadline);
    if (!parent) return null;
    const count = await beforeDeadline(
      parent.callFunction<number>(SELECTOR_ENGINE, ['count', this.selector]),
      deadline,
    );
    if (count === 0) return null;
    if (count > 1) throw strictError('frameLocator', `${this}`, count);
    const id = await beforeDeadline(
      parent.callFunctionHandle(SELECTOR_ENGINE, ['owner', this.selector]),
      deadline,
      (late) => late && parent.releaseHandle(late),
    );
    if (!id) return null;
    try {
      return await parent.childFrameFor(id);
    } finally {
      parent.releaseHandle(id);
    }
  }
}

export class Locator {
  constructor(
    private readonly scope: Scope,
    readonly selector: string,
  ) {}

  locator(selector: string): Locator {
    return new Locator(this.scope, `${this.selector} >> ${selector}`);
  }
  first(): Locator {
    return this.nth(0);
  }
  nth(index: number): Locator {
    return new Locator(this.scope, `${this.selector} >> nth=${index}`);
  }
  getByRole(role: string, o: RoleOptions = {}): Locator {
    return this.locator(roleSelector(role, o));
  }

  toString(): string {
    const outer = this.scope instanceof FrameLocator ? `${this.scope}.` : '';
    return `${outer}locator('${this.selector}')`;
  }

  // --- questions without waiting ---

  /** Whether the first match is visible now; false when there is none or no document to ask. */
  async isVisible(): Promise<boolean> {
    return (await this.once<boolean>('visible')) ?? false;
  }

  /** How many elements match now; 0 when there is no document to ask. */
  async count(): Promise<number> {
    return (await this.once<number>('count')) ?? 0;
  }

  // --- waits ---

  async waitFor(o: { state?: WaitForState; timeout?: number } = {}): Promise<void> {
    const state = o.state ?? 'visible';
    await this.poll('locator.waitFor', o.timeout, `to be ${state}`, async (frame, deadline) => {
      if (!frame) return state === 'hidden' || state === 'detached' ? true : undefined;
      if (state === 'attached' || state === 'detached') {
        const count = await this.ask<number>(frame, 'count', deadline);
        return count > 0 === (state === 'attached') ? true : undefined;
      }
      const visible = await this.ask<boolean>(frame, 'visible', deadline);
      return visible === (state === 'visible') ? true : undefined;
    });
  }

  async textContent(o: { timeout?: number } = {}): Promise<string | null> {
    return this.readValue('locator.textContent', 'text', undefined, o.timeout);
  }

  async getAttribute(name: string, o: { timeout?: number } = {}): Promise<string | null> {
    return this.readValue('locator.getAttribute', 'attribute', name, o.timeout);
  }

  /** Runs `fn(element, arg)` in the page on the single match (waiting for it to be attached); JSON in and out. */
  async evaluate<R, A = undefined>(
    fn: (element: Element, arg: A) => R | Promise<R>,
    arg?: A,
    o: { timeout?: number } = {},
  ): Promise<R> {
    const box = await this.poll('locator.evaluate', o.timeout, 'to be attached', async (frame, deadline) => {
      if (!frame) return undefined;
      this.strict('locator.evaluate', await this.ask<number>(frame, 'count', deadline));
      return this.withElement(frame, deadline, async (objectId) => {
        const r = await frame.page().session.send<{
          result: { value?: unknown };
          exceptionDetails?: { text?: string; exception?: { description?: string } };
        }>('Runtime.callFunctionOn', {
          functionDeclaration: `function (arg) { return (${fn.toString()})(this, arg); }`,
          objectId,
          arguments: arg === undefined ? [] : [{ value: arg }],
          returnByValue: true,
          awaitPromise: true,
          userGesture: false,
        });
        if (r.exceptionDetails)
          throw new Error(r.exceptionDetails.exception?.description ?? r.exceptionDetails.text ?? 'evaluation failed');
        return { value: r.result.value as R };
      });
    });
    return box.value;
  }

  // --- actions: wait until attached, visible and enabled, then act as the user ---

  async click(o: { timeout?: number } = {}): Promise<void> {
    await this.poll('locator.click', o.timeout, 'to be visible and enabled', async (frame, deadline) => {
      if (!frame) return undefined;
      const s = await this.ask<ElementState>(frame, 'state', deadline);
      this.strict('locator.click', s.count);
      if (s.count === 0 || !s.visible || !s.enabled) return undefined;
      return this.clickNow(frame, deadline);
    });
  }

  /** Clicks a checkbox or radio button unless it is checked already. */
  async check(o: { timeout?: number } = {}): Promise<void> {
    await this.poll('locator.check', o.timeout, 'to be visible and enabled', async (frame, deadline) => {
      if (!frame) return undefined;
      const s = await this.ask<ElementState>(frame, 'state', deadline);
      this.strict('locator.check', s.count);
      if (s.count === 0) return undefined;
      if (s.checked === null) throw new Error(`locator.check: ${this} is not a checkbox or radio button`);
      if (s.checked) return true;
      if (!s.visible || !s.enabled || !(await this.clickNow(frame, deadline))) return undefined;
      const after = await this.ask<ElementState>(frame, 'state', deadline);
      if (after.checked !== true) throw new Error(`locator.check: clicking ${this} did not check it`);
      return true;
    });
  }

  /** Focuses the field, selects its content and types `value` over it as one text input (empty: clears it). */
  async fill(value: string, o: { timeout?: number } = {}): Promise<void> {
    await this.poll('locator.fill', o.timeout, 'to be visible, enabled and editable', async (frame, deadline) => {
      if (!frame) return undefined;
      const s = await this.ask<ElementState>(frame, 'state', deadline);
      this.strict('locator.fill', s.count);
      if (s.count === 0 || !s.visible || !s.enabled || !s.editable) return undefined;
      const r = await this.ask<PrepareAnswer>(frame, 'prepare-fill', deadline, value);
      if (r.count === 0) return undefined;
      if (r.error) throw new Error(`locator.fill: ${r.error}`);
      if (value) await frame.page().session.send('Input.insertText', { text: value });
      return true;
    });
  }

  /** Focuses the element and types `text` key by key: keyDown (with the text), `delay` ms, keyUp. */
  async pressSequentially(text: string, o: { delay?: number; timeout?: number } = {}): Promise<void> {
    const frame = await this.poll('locator.pressSequentially', o.timeout, 'to be attached', async (f, deadline) => {
      if (!f) return undefined;
      const r = await this.ask<PrepareAnswer>(f, 'focus', deadline);
      this.strict('locator.pressSequentially', r.count);
      return r.count > 0 ? f : undefined;
    });
    const session = frame.page().session;
    for (const ch of text) {
      const { text: typed, ...key } = keyFields(ch);
      await session.send('Input.dispatchKeyEvent', { type: 'keyDown', ...key, text: typed, unmodifiedText: typed });
      if (o.delay) await sleep(o.delay);
      await session.send('Input.dispatchKeyEvent', { type: 'keyUp', ...key });
    }
  }

  // --- plumbing ---

  /** One call of the engine with this locator's selector, given up (NotYet) at `deadline`. */
  private ask<T>(frame: Frame, op: SelectorOp, deadline: number, arg?: unknown): Promise<T> {
    return beforeDeadline(frame.callFunction<T>(SELECTOR_ENGINE, [op, this.selector, arg]), deadline);
  }

  /** One question now; undefined when there is no frame or document to ask. */
  private async once<T>(op: SelectorOp): Promise<T | undefined> {
    const deadline = Date.now() + NO_WAIT_CONTEXT_MS;
    try {
      const frame = await frameOf(this.scope, deadline);
      return frame ? await this.ask<T>(frame, op, deadline) : undefined;
    } catch (err) {
      if (isContextLoss(err)) return undefined;
      throw err;
    }
  }

  private strict(action: string, count: number): void {
    if (count > 1) throw strictError(action, `${this}`, count);
  }

  /**
   * Asks `attempt` every 100 ms until it answers something other than undefined; a navigation under it counts as
   * "not yet". At the deadline: a TimeoutError naming the selector and what it waited for.
   */
  private async poll<T>(
    action: string,
    timeout: number | undefined,
    what: string,
    attempt: (frame: Frame | null, deadline: number) => Promise<T | undefined>,
  ): Promise<T> {
    const ms = timeout ?? DEFAULT_TIMEOUT_MS;
    const deadline = Date.now() + ms;
    for (;;) {
      try {
        const r = await attempt(await frameOf(this.scope, deadline), deadline);
        if (r !== undefined) return r;
      } catch (err) {
        if (!isContextLoss(err)) throw err;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new TimeoutError(`${action}: Timeout ${ms}ms exceeded waiting for ${this} ${what}`);
      await sleep(Math.min(POLL_MS, left));
    }
  }

  /** Runs `use` with a handle on the first match (released after); undefined when there is none now. */
  private async withElement<T>(
    frame: Frame,
    deadline: number,
    use: (objectId: string) => Promise<T | undefined>,
  ): Promise<T | undefined> {
    const id = await beforeDeadline(
      frame.callFunctionHandle(SELECTOR_ENGINE, ['element', this.selector, 0]),
      deadline,
      (late) => late && frame.releaseHandle(late),
    );
    if (!id) return undefined;
    try {
      return await use(id);
    } finally {
      frame.releaseHandle(id);
    }
  }

  /** Scrolls the first match into view and clicks the centre of its first content quad; undefined if it has none. */
  private clickNow(frame: Frame, deadline: number): Promise<true | undefined> {
    return this.withElement(frame, deadline, async (objectId) => {
      const session = frame.page().session;
      let quads: number[][];
      try {
        await session.send('DOM.scrollIntoViewIfNeeded', { objectId });
        quads = (await session.send<Quad>('DOM.getContentQuads', { objectId })).quads;
      } catch (err) {
        // Gone from the document, or no layout box any more: look again on the next poll.
        if (/detached|layout object|Could not compute|No node|not found/i.test((err as Error).message))
          return undefined;
        throw err;
      }
      const q = quads[0];
      if (!q || q.length < 8) return undefined;
      const x = ((q[0] ?? 0) + (q[2] ?? 0) + (q[4] ?? 0) + (q[6] ?? 0)) / 4;
      const y = ((q[1] ?? 0) + (q[3] ?? 0) + (q[5] ?? 0) + (q[7] ?? 0)) / 4;
      await session.send('Input.dispatchMouseEvent', { type: 'mouseMoved', x, y, button: 'none', buttons: 0 });
      await session.send('Input.dispatchMouseEvent', {
        type: 'mousePressed',
        x,
        y,
        button: 'left',
        buttons: 1,
        clickCount: 1,
      });
      await session.send('Input.dispatchMouseEvent', {
        type: 'mouseReleased',
        x,
        y,
        button: 'left',
        buttons: 0,
        clickCount: 1,
      });
      return true;
    });
  }

  /** textContent / getAttribute: waits for a match (strict) and reads it. */
  private async readValue(
    action: string,
    op: 'text' | 'attribute',
    arg: string | undefined,
    timeout?: number,
  ): Promise<string | null> {
    const box = await this.poll(action, timeout, 'to be attached', async (frame, deadline) => {
      if (!frame) return undefined;
      const r = await this.ask<ValueAnswer>(frame, op, deadline, arg);
      this.strict(action, r.count);
      return r.count > 0 ? { value: r.value } : undefined;
    });
    return box.value;
  }
}
