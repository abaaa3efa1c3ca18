/**
 * A frame of a page: its address, its main-world execution context, and what runs in it. Every evaluation is made
 * without a user gesture (Playwright makes each with one, which gives a BMC page a transient activation it could
 * spend on window.open); clicks and typing go through Input events in locator.ts, where the script acts as the user.
 */
import type { CdpSession } from './connection.js';
import { FrameLocator, Locator, roleSelector, type RoleOptions } from './locator.js';
import type { Page } from './page.js';

/** Object ids handed out by callFunctionHandle belong to this group. */
const HANDLE_GROUP = 'bmc-driver';
const CONTEXT_WAIT_MS = 30_000;

interface RemoteObject {
  value?: unknown;
  objectId?: string;
  subtype?: string;
  type?: string;
}
interface CallResult {
  result: RemoteObject;
  exceptionDetails?: { text?: string; exception?: { description?: string; value?: unknown } };
}

/** What an evaluated function may be given: a function (its source is sent) or an expression. */
export type PageFunction<A, R> = string | ((arg: A) => R | Promise<R>);

export class Frame {
  private frameUrl = '';
  private frameName = '';
  /** The document's loader, and the lifecycle events it has reached (init, DOMContentLoaded, load, ...). */
  loaderId = '';
  readonly lifecycle = new Set<string>();
  private contextId: number | undefined;
  private contextWaiters: ((id: number | undefined) => void)[] = [];
  private detached = false;
  readonly children = new Set<Frame>();

  constructor(
    private readonly owner: Page,
    readonly id: string,
    private parent: Frame | null,
  ) {
    parent?.children.add(this);
  }

  url(): string {
    return this.frameUrl;
  }
  name(): string {
    return this.frameName;
  }
  page(): Page {
    return this.owner;
  }
  parentFrame(): Frame | null {
    return this.parent;
  }
  childFrames(): Frame[] {
    return [...this.children];
  }
  isDetached(): boolean {
    return this.detached;
  }

  private get session(): CdpSession {
    return this.owner.session;
  }

  // --- kept up to date by Page from CDP events ---

  navigated(url: string, name: string, loaderId: string | undefined): void {
    this.frameUrl = url;
    this.frameName = name;
    if (loaderId !== undefined && loaderId !== this.loaderId) {
      this.loaderId = loaderId;
      this.lifecycle.clear();
    }
  }
  navigatedWithinDocument(url: string): void {
    this.frameUrl = url;
  }
  lifecycleEvent(loaderId: string, name: string): void {
    if (name === 'init') {
      this.loaderId = loaderId;
      this.lifecycle.clear();
    }
    if (loaderId === this.loaderId) this.lifecycle.add(name);
  }
  contextCreated(id: number): void {
    this.contextId = id;
    for (const w of this.contextWaiters.splice(0)) w(id);
  }
  contextDestroyed(id?: number): void {
    if (id === undefined || this.contextId === id) this.contextId = undefined;
  }
  /** Whether a document's main world is there to run in now. */
  ready(): boolean {
    return this.contextId !== undefined;
  }
  hasContext(id: number): boolean {
    return this.contextId === id;
  }
  markDetached(): void {
    this.detached = true;
    this.contextId = undefined;
    this.parent?.children.delete(this);
    this.parent = null;
    for (const w of this.contextWaiters.splice(0)) w(undefined);
  }

  /** The main world's context id, waiting while the frame has none (between documents). */
  private async context(timeoutMs = CONTEXT_WAIT_MS): Promise<number> {
    if (this.contextId !== undefined) return this.contextId;
    if (this.detached || this.owner.isClosed()) throw new Error('Execution context was destroyed: the frame is gone');
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.contextWaiters = this.contextWaiters.filter((w) => w !== done);
        reject(new Error('Execution context was destroyed: no document in the frame'));
      }, timeoutMs);
      const done = (id: number | undefined): void => {
        clearTimeout(timer);
        if (id === undefined) reject(new Error('Execution context was destroyed: the frame is gone'));
        else resolve(id);
      };
      this.contextWaiters.push(done);
    });
  }

  /** A function with arguments (Runtime.callFunctionOn) or an expression (Runtime.evaluate), in the main world. */
  private async call(
    code: { fn: string; args: unknown[] } | { expression: string },
    byValue: boolean,
    awaitPromise: boolean,
  ): Promise<RemoteObject> {
    const executionContextId = await this.context();
    const common = { returnByValue: byValue, awaitPromise, userGesture: false, objectGroup: HANDLE_GROUP };
    let r: CallResult;
    try {
      r =
        'fn' in code
          ? await this.session.send<CallResult>('Runtime.callFunctionOn', {
              functionDeclaration: code.fn,
              executionContextId,
              arguments: code.args.map((value) => (value === undefined ? {} : { value })),
              ...common,
            })
          : await this.session.send<CallResult>('Runtime.evaluate', {
              expression: code.expression,
              contextId: executionContextId,
              ...common,
            });
    } catch (err) {
      if (
        /Cannot find context|context with specified id|Execution context was destroyed|Inspected target navigated/i.test(
          (err as Error).message,
        )
      ) {
        this.contextDestroyed(executionContextId);
        throw new Error('Execution context was destroyed, most likely because of a navigation');
      }
      throw err;
    }
    if (r.exceptionDetails) {
      const d = r.exceptionDetails;
      throw new Error(d.exception?.description ?? String(d.exception?.value ?? d.text ?? 'evaluation failed'));
    }
    return r.result;
  }

  /** Calls `functionDeclaration` with JSON `args` in the main world; the result by value. */
  async callFunction<T>(functionDeclaration: string, args: unknown[], o: { awaitPromise?: boolean } = {}): Promise<T> {
    return (await this.call({ fn: functionDeclaration, args }, true, o.awaitPromise ?? true)).value as T;
  }

  /** The same, returning the result's remote object id (null for null/undefined): release it with releaseHandle. */
  async callFunctionHandle(functionDeclaration: string, args: unknown[]): Promise<string | null> {
    const r = await this.call({ fn: functionDeclaration, args }, false, true);
    return r.subtype === 'null' || r.type === 'undefined' ? null : (r.objectId ?? null);
  }

  releaseHandle(objectId: string): void {
    this.session.send('Runtime.releaseObject', { objectId }).catch(() => undefined);
  }

  /** The frame whose owner element (<frame>, <iframe>) is `objectId`. */
  async childFrameFor(objectId: string): Promise<Frame | null> {
    const r = await this.session.send<{ node: { frameId?: string; contentDocument?: { frameId?: string } } }>(
      'DOM.describeNode',
      { objectId },
    );
    const id = r.node.frameId ?? r.node.contentDocument?.frameId;
    return id ? (this.owner.frameById(id) ?? null) : null;
  }

  /** Runs `fn(arg)` (or evaluates an expression) in the frame; JSON in, JSON out, no user gesture. */
  async evaluate<R, A = undefined>(fn: PageFunction<A, R>, arg?: A): Promise<R> {
    if (typeof fn === 'string') return (await this.call({ expression: fn }, true, true)).value as R;
    return this.callFunction<R>(fn.toString(), arg === undefined ? [] : [arg]);
  }

  locator(selector: string): Locator {
    return new Locator(this, selector);
  }
  getByRole(role: string, o: RoleOptions = {}): Locator {
    return new Locator(this, roleSelector(role, o));
  }
  frameLocator(selector: string): FrameLocator {
    return new FrameLocator(this, selector);
  }
}
