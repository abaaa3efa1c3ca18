/**
 * One page (a CDP page target) and its frames. Only the Page, Runtime and Inspector domains are enabled: no Network
 * domain, so a KVM's websocket frames never travel to node as events. Requests are seen only where something asks
 * for them (Fetch, for documents: the navigation guard; and while extra HTTP headers are set).
 */
import { EventEmitter } from 'node:events';
import { writeFileSync } from 'node:fs';
import type { BrowserContext } from './browser.js';
import type { CdpSession } from './connection.js';
import { Frame, type PageFunction } from './frame.js';
import type { FrameLocator, Locator, RoleOptions } from './locator.js';
import { TimeoutError, waitForEvent } from './wait-event.js';

export type LoadState = 'load' | 'domcontentloaded' | 'networkidle' | 'commit';
const LIFECYCLE: Record<LoadState, string> = {
  load: 'load',
  domcontentloaded: 'DOMContentLoaded',
  networkidle: 'networkIdle',
  commit: 'commit',
};
const DEFAULT_TIMEOUT_MS = 30_000;

/** What goto resolves with: the navigation's address. The HTTP status is not known without the Network domain. */
export interface Response {
  url(): string;
}

interface FramePayload {
  id: string;
  parentId?: string;
  url: string;
  urlFragment?: string;
  name?: string;
  loaderId: string;
}
interface FrameTree {
  frame: FramePayload;
  childFrames?: FrameTree[];
}
interface RequestPaused {
  requestId: string;
  request: { url: string; headers: Record<string, string> };
  frameId: string;
  resourceType: string;
}

/** Decides whether a document may load in a frame of this page (the navigation guard). */
export type DocumentFilter = (url: string, frame: 'main' | 'sub') => boolean;
type BindingSource = { frame: Frame; page: Page };
export type BindingCallback = (source: BindingSource, ...args: unknown[]) => unknown;

/** The CDP binding behind window[name]. */
const bindingName = (name: string): string => `__bmcBinding_${name}`;

/** In the page: the function a binding is called by, which returns a promise of the node side's answer. */
function bindingInstaller(name: string): string {
  const binding = bindingName(name);
  return `(function () {
  var send = globalThis[${JSON.stringify(binding)}];
  if (typeof send !== 'function' || globalThis[${JSON.stringify(name)}]) return;
  var pending = new Map(), seq = 0;
  Object.defineProperty(globalThis, ${JSON.stringify(name)}, { configurable: true, value: function () {
    var args = Array.prototype.slice.call(arguments);
    return new Promise(function (resolve, reject) {
      var id = ++seq; pending.set(id, { resolve: resolve, reject: reject });
      send(JSON.stringify({ id: id, args: args }));
    });
  } });
  Object.defineProperty(globalThis, ${JSON.stringify(`${binding}_answer`)}, { configurable: true, value: function (id, ok, value) {
    var p = pending.get(id); if (!p) return; pending.delete(id);
    if (ok) p.resolve(value); else p.reject(new Error(value));
  } });
})()`;
}

/** The events a Page emits (Playwright's names). */
export interface PageEvents {
  close: [Page];
  crash: [Page];
  popup: [Page];
  load: [Page];
  domcontentloaded: [Page];
  framenavigated: [Frame];
  /** A frame reached a lifecycle step (the driver's own waits). */
  lifecycle: [Frame];
}

export class Page extends EventEmitter<PageEvents> {
  private readonly framesById = new Map<string, Frame>();
  /** Contexts reported before their frame (events are handled in order, a frame's creation may come later). */
  private readonly unclaimedContexts = new Map<string, number>();
  private main: Frame | undefined;
  private closed = false;
  private readonly bindings = new Map<string, BindingCallback>();
  private documentFilter: DocumentFilter | undefined;
  private extraHeaders: Record<string, string> = {};
  private fetchPatterns = '';

  constructor(
    private readonly owner: BrowserContext,
    readonly session: CdpSession,
    readonly targetId: string,
    readonly openerId: string | undefined,
  ) {
    super();
    this.setMaxListeners(50);
    const s = session;
    s.on('Page.frameAttached', (e: { frameId: string; parentFrameId?: string }) =>
      this.frameAttached(e.frameId, e.parentFrameId),
    );
    s.on('Page.frameNavigated', (e: { frame: FramePayload }) => this.frameNavigated(e.frame));
    s.on('Page.navigatedWithinDocument', (e: { frameId: string; url: string }) => {
      const f = this.framesById.get(e.frameId);
      if (!f) return;
      f.navigatedWithinDocument(e.url);
      this.emit('framenavigated', f);
    });
    s.on('Page.frameDetached', (e: { frameId: string; reason?: string }) => {
      if (e.reason !== 'swap') this.frameDetached(e.frameId);
    });
    s.on('Page.lifecycleEvent', (e: { frameId: string; loaderId: string; name: string }) => {
      const f = this.framesById.get(e.frameId);
      if (!f) return;
      f.lifecycleEvent(e.loaderId, e.name);
      if (f === this.main && e.name === 'load') this.emit('load', this);
      if (f === this.main && e.name === 'DOMContentLoaded') this.emit('domcontentloaded', this);
      this.emit('lifecycle', f);
    });
    s.on(
      'Runtime.executionContextCreated',
      (e: { context: { id: number; auxData?: { frameId?: string; isDefault?: boolean } } }) => {
        const aux = e.context.auxData;
        if (!aux?.isDefault || !aux.frameId) return;
        const f = this.framesById.get(aux.frameId);
        if (f) f.contextCreated(e.context.id);
        else this.unclaimedContexts.set(aux.frameId, e.context.id);
      },
    );
    s.on('Runtime.executionContextDestroyed', (e: { executionContextId: number }) => {
      for (const [frameId, id] of this.unclaimedContexts)
        if (id === e.executionContextId) this.unclaimedContexts.delete(frameId);
      for (const f of this.framesById.values()) f.contextDestroyed(e.executionContextId);
    });
    s.on('Runtime.executionContextsCleared', () => {
      for (const f of this.framesById.values()) f.contextDestroyed();
    });
    s.on(
      'Runtime.bindingCalled',
      (e: { name: string; payload: string; executionContextId: number }) =>
        void this.bindingCalled(e.name, e.payload, e.executionContextId),
    );
    s.on('Inspector.targetCrashed', () => this.emit('crash', this));
    s.on('Fetch.requestPaused', (e: RequestPaused) => this.requestPaused(e));
    s.once('detached', () => this.didClose());
  }

  /** Enables what the driver needs, before the target runs (it waits for the debugger until then). */
  async initialize(o: {
    initScripts: string[];
    bindings: Map<string, BindingCallback>;
    viewport: { width: number; height: number } | null;
    ignoreHTTPSErrors: boolean;
    documentFilter: DocumentFilter | undefined;
  }): Promise<void> {
    const s = this.session;
    // A popup's renderer answers (Page.getFrameTree, Runtime.enable, ...) only once the popup runs: every command
    // is sent now, runIfWaitingForDebugger last (a session's commands are handled in order, so the init scripts and
    // bindings are in place before the page's first script), and only then are the answers awaited. Contexts
    // reported before their frame is known wait in unclaimedContexts.
    const steps: Promise<unknown>[] = [
      s.send<{ frameTree: FrameTree }>('Page.getFrameTree').then((r) => this.addTree(r.frameTree, null)),
      s.send('Page.enable'),
      s.send('Page.setLifecycleEventsEnabled', { enabled: true }),
      s.send('Runtime.enable'),
      s.send('Inspector.enable'),
      // Focus and typing work in a page that is not the window's active one (several pages headless, in tests).
      s.send('Emulation.setFocusEmulationEnabled', { enabled: true }),
      ...o.initScripts.map((source) => s.send('Page.addScriptToEvaluateOnNewDocument', { source })),
      ...[...o.bindings].flatMap(([name, cb]) => this.addBinding(name, cb)),
    ];
    if (o.documentFilter) steps.push(this.setDocumentFilter(o.documentFilter));
    if (o.ignoreHTTPSErrors) steps.push(s.send('Security.setIgnoreCertificateErrors', { ignore: true }));
    if (o.viewport)
      steps.push(s.send('Emulation.setDeviceMetricsOverride', { ...o.viewport, deviceScaleFactor: 1, mobile: false }));
    steps.push(s.send('Runtime.runIfWaitingForDebugger'));
    await Promise.all(steps);
  }

  private addTree(t: FrameTree, parent: Frame | null): void {
    // Page events follow the tree's snapshot (Page.enable is sent after Page.getFrameTree), but its answer may be
    // handled after some of them (a promise's turn): a frame they already made is the newer one and is kept.
    let f = this.framesById.get(t.frame.id);
    if (!f) {
      f = this.newFrame(t.frame.id, parent);
      // A popup not yet navigated shows the initial empty document, whose address Chromium gives as '': about:blank.
      f.navigated((t.frame.url || 'about:blank') + (t.frame.urlFragment ?? ''), t.frame.name ?? '', t.frame.loaderId);
    }
    for (const c of t.childFrames ?? []) this.addTree(c, f);
  }

  private newFrame(id: string, parent: Frame | null): Frame {
    const f = new Frame(this, id, parent);
    this.framesById.set(id, f);
    const context = this.unclaimedContexts.get(id);
    this.unclaimedContexts.delete(id);
    if (context !== undefined) f.contextCreated(context);
    if (!parent) this.main = f;
    return f;
  }

  private frameAttached(id: string, parentId?: string): void {
    if (this.framesById.has(id)) return;
    this.newFrame(id, parentId ? (this.framesById.get(parentId) ?? null) : null);
  }

  private frameNavigated(p: FramePayload): void {
    let f = this.framesById.get(p.id);
    if (!f) {
      if (!p.parentId && this.main) {
        // A cross-process navigation gives the main frame a new id.
        this.framesById.delete(this.main.id);
        for (const c of this.main.childFrames()) this.frameDetached(c.id);
      }
      f = this.newFrame(p.id, p.parentId ? (this.framesById.get(p.parentId) ?? null) : null);
    }
    for (const c of f.childFrames()) this.frameDetached(c.id);
    f.navigated(p.url + (p.urlFragment ?? ''), p.name ?? '', p.loaderId);
    this.emit('framenavigated', f);
  }

  private frameDetached(id: string): void {
    const f = this.framesById.get(id);
    if (!f || f === this.main) return;
    for (const c of f.childFrames()) this.frameDetached(c.id);
    this.framesById.delete(id);
    f.markDetached();
  }

  private didClose(): void {
    if (this.closed) return;
    this.closed = true;
    for (const f of this.framesById.values()) f.markDetached();
    this.emit('close', this);
  }

  // --- Playwright's Page, the part bmc-console uses ---

  context(): BrowserContext {
    return this.owner;
  }
  isClosed(): boolean {
    return this.closed;
  }
  mainFrame(): Frame {
    if (!this.main) throw new Error('the page has no frame yet');
    return this.main;
  }
  frames(): Frame[] {
    return [...this.framesById.values()];
  }
  frameById(id: string): Frame | undefined {
    return this.framesById.get(id);
  }
  url(): string {
    return this.main?.url() ?? '';
  }
  async opener(): Promise<Page | null> {
    return this.openerId ? (this.owner.pageByTargetId(this.openerId) ?? null) : null;
  }

  evaluate<R, A = undefined>(fn: PageFunction<A, R>, arg?: A): Promise<R> {
    return this.mainFrame().evaluate(fn, arg);
  }
  locator(selector: string): Locator {
    return this.mainFrame().locator(selector);
  }
  getByRole(role: string, o?: RoleOptions): Locator {
    return this.mainFrame().getByRole(role, o);
  }
  frameLocator(selector: string): FrameLocator {
    return this.mainFrame().frameLocator(selector);
  }

  /**
   * Navigates the main frame and waits for `waitUntil` (default load) of the new document. Rejects with Chromium's
   * error (net::ERR_...) like Playwright, and when another navigation replaced this one.
   */
  async goto(url: string, o: { waitUntil?: LoadState; timeout?: number } = {}): Promise<Response | null> {
    const frame = this.mainFrame();
    const timeout = o.timeout ?? DEFAULT_TIMEOUT_MS;
    const r = await this.session.send<{ loaderId?: string; errorText?: string }>('Page.navigate', {
      url,
      frameId: frame.id,
    });
    if (r.errorText) throw new Error(`page.goto: ${r.errorText} at ${url}`);
    if (!r.loaderId) return null; // the same document (a fragment change)
    await this.documentReached(frame, r.loaderId, o.waitUntil ?? 'load', timeout, url);
    return { url: () => url };
  }

  /** Waits until `frame` shows the document of `loaderId` at `state`; rejects when another document replaced it. */
  private documentReached(
    frame: Frame,
    loaderId: string,
    state: LoadState,
    timeout: number,
    url: string,
  ): Promise<void> {
    const wanted = LIFECYCLE[state];
    const reached = (): boolean => frame.loaderId === loaderId && (state === 'commit' || frame.lifecycle.has(wanted));
    if (reached()) return Promise.resolve();
    let seen = frame.loaderId === loaderId;
    return new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (this.closed || frame.isDetached())
          return finish(new Error(`page.goto: the page closed while loading ${url}`));
        if (reached()) return finish();
        if (frame.loaderId === loaderId) seen = true;
        else if (seen)
          finish(new Error(`page.goto: navigation to ${url} is interrupted by another navigation to ${frame.url()}`));
      };
      const timer = setTimeout(
        () => finish(new TimeoutError(`page.goto: timeout ${timeout} ms exceeded navigating to ${url}`)),
        timeout,
      );
      const finish = (err?: Error): void => {
        clearTimeout(timer);
        this.off('lifecycle', check);
        this.off('framenavigated', check);
        this.off('close', check);
        if (err) reject(err);
        else resolve();
      };
      this.on('lifecycle', check);
      this.on('framenavigated', check);
      this.on('close', check);
    });
  }

  /** Loads the main frame's document again and waits for `waitUntil` (default load) of the new one. */
  async reload(o: { waitUntil?: LoadState; timeout?: number } = {}): Promise<void> {
    const frame = this.mainFrame();
    const before = frame.loaderId;
    const wanted = LIFECYCLE[o.waitUntil ?? 'load'];
    const loaded = waitForEvent(this as unknown as EventEmitter, 'lifecycle', {
      timeout: o.timeout ?? DEFAULT_TIMEOUT_MS,
      predicate: () => frame.loaderId !== before && (wanted === 'commit' || frame.lifecycle.has(wanted)),
      what: 'the reloaded document',
      endsOn: 'close',
    });
    await this.session.send('Page.reload');
    await loaded;
  }

  /** Resolves once the main frame's current document reached `state` (at once if it has). */
  async waitForLoadState(state: LoadState = 'load', o: { timeout?: number } = {}): Promise<void> {
    const frame = this.mainFrame();
    const wanted = LIFECYCLE[state];
    if (state === 'commit' || frame.lifecycle.has(wanted)) return;
    await waitForEvent(this as unknown as EventEmitter, 'lifecycle', {
      timeout: o.timeout ?? DEFAULT_TIMEOUT_MS,
      predicate: () => this.main?.lifecycle.has(wanted) === true,
      what: `load state "${state}"`,
      endsOn: 'close',
    });
  }

  /** Resolves once the main frame's address matches. */
  async waitForURL(match: string | RegExp | ((u: URL) => boolean), o: { timeout?: number } = {}): Promise<void> {
    const test = (): boolean => {
      const url = this.url();
      if (typeof match === 'string') return url === match;
      if (match instanceof RegExp) return match.test(url);
      try {
        return match(new URL(url));
      } catch {
        return false;
      }
    };
    if (test()) return;
    await waitForEvent(this as unknown as EventEmitter, 'framenavigated', {
      timeout: o.timeout ?? DEFAULT_TIMEOUT_MS,
      predicate: test,
      what: 'the URL',
      endsOn: 'close',
    });
  }

  /** Replaces the main frame's document with `html` and waits for its load event. */
  async setContent(html: string): Promise<void> {
    const frame = this.mainFrame();
    await this.session.send('Page.setDocumentContent', { frameId: frame.id, html });
    await frame
      .evaluate(
        "document.readyState === 'complete' ? true : new Promise((r) => addEventListener('load', () => r(true), { once: true }))",
      )
      .catch(() => undefined);
  }

  /** Runs in every later document of the page (all frames), before the page's own scripts. */
  async addInitScript<A>(script: string | ((arg: A) => unknown), arg?: A): Promise<void> {
    await this.session.send('Page.addScriptToEvaluateOnNewDocument', { source: initScriptSource(script, arg) });
  }

  /**
   * window[name](...args) in every frame of this page, now and after navigations, calls `callback` in node and
   * resolves with its (JSON) answer. The page can call it as it likes: treat the arguments as the page's words.
   */
  async exposeBinding(name: string, callback: BindingCallback): Promise<void> {
    const install = bindingInstaller(name);
    await Promise.all(this.addBinding(name, callback));
    // Frames between documents get it from the init script.
    await Promise.all(
      this.frames()
        .filter((f) => f.ready())
        .map((f) => f.evaluate(install).catch(() => undefined)),
    );
  }

  /** The binding's two commands, sent at once (initialize sends runIfWaitingForDebugger right after them). */
  private addBinding(name: string, callback: BindingCallback): Promise<unknown>[] {
    const binding = bindingName(name);
    this.bindings.set(binding, callback);
    return [
      this.session.send('Runtime.addBinding', { name: binding }),
      this.session.send('Page.addScriptToEvaluateOnNewDocument', { source: bindingInstaller(name) }),
    ];
  }

  exposeFunction(name: string, fn: (...args: unknown[]) => unknown): Promise<void> {
    return this.exposeBinding(name, (_source, ...args) => fn(...args));
  }

  private async bindingCalled(binding: string, payload: string, contextId: number): Promise<void> {
    const callback = this.bindings.get(binding);
    if (!callback) return;
    let call: { id: number; args: unknown[] };
    try {
      call = JSON.parse(payload) as { id: number; args: unknown[] };
      if (typeof call.id !== 'number' || !Array.isArray(call.args)) return;
    } catch {
      return;
    }
    const frame = this.frames().find((f) => f.hasContext(contextId)) ?? this.main;
    if (!frame) return;
    let ok = true;
    let value: unknown;
    try {
      value = await callback({ frame, page: this }, ...call.args);
    } catch (err) {
      ok = false;
      value = (err as Error).message;
    }
    const answer = `globalThis[${JSON.stringify(`${binding}_answer`)}](${call.id}, ${ok}, ${JSON.stringify(value ?? null)})`;
    await this.session
      .send('Runtime.evaluate', { expression: answer, contextId, userGesture: false, silent: true })
      .catch(() => undefined);
  }

  /** The navigation guard: documents `filter` refuses are aborted before any byte is requested. undefined: none. */
  async setDocumentFilter(filter: DocumentFilter | undefined): Promise<void> {
    this.documentFilter = filter;
    await this.updateFetch();
  }

  /** Headers added to the page's document, XHR and fetch requests (Supermicro's iKVM page wants X-Auth-Token). */
  async setExtraHTTPHeaders(headers: Record<string, string>): Promise<void> {
    this.extraHeaders = { ...headers };
    await this.updateFetch();
  }

  private async updateFetch(): Promise<void> {
    const types = [
      ...(this.documentFilter || Object.keys(this.extraHeaders).length > 0 ? ['Document'] : []),
      ...(Object.keys(this.extraHeaders).length > 0 ? ['XHR', 'Fetch'] : []),
    ];
    const key = types.join(',');
    if (key === this.fetchPatterns) return;
    this.fetchPatterns = key;
    if (types.length === 0) await this.session.send('Fetch.disable');
    else
      await this.session.send('Fetch.enable', {
        patterns: types.map((resourceType) => ({ urlPattern: '*', resourceType, requestStage: 'Request' })),
      });
  }

  private requestPaused(e: RequestPaused): void {
    const s = this.session;
    // Before the frame tree is known (a popup's first request), a document can only be the main frame's.
    const frame = !this.main || e.frameId === this.main.id ? 'main' : 'sub';
    if (e.resourceType === 'Document' && this.documentFilter && !this.documentFilter(e.request.url, frame)) {
      s.send('Fetch.failRequest', { requestId: e.requestId, errorReason: 'Aborted' }).catch(() => undefined);
      return;
    }
    const extra = Object.entries(this.extraHeaders);
    const headers =
      extra.length === 0
        ? undefined
        : Object.entries({ ...e.request.headers, ...this.extraHeaders }).map(([name, value]) => ({ name, value }));
    s.send('Fetch.continueRequest', { requestId: e.requestId, ...(headers ? { headers } : {}) }).catch(
      () => undefined, // the page or the request is gone
    );
  }

  async screenshot(o: { path?: string; timeout?: number } = {}): Promise<Buffer> {
    const r = await this.session.send<{ data: string }>('Page.captureScreenshot', { format: 'png' });
    const png = Buffer.from(r.data, 'base64');
    if (o.path) writeFileSync(o.path, png);
    return png;
  }

  async bringToFront(): Promise<void> {
    await this.session.send('Page.bringToFront');
  }

  /** Closes the page (its beforeunload handlers do not run). */
  async close(): Promise<void> {
    if (this.closed) return;
    const gone = waitForEvent(this as unknown as EventEmitter, 'close', { timeout: 10_000, what: 'the page to close' });
    await this.owner.closeTarget(this.targetId);
    await gone;
  }

  waitForEvent(
    event: 'popup' | 'close' | 'load' | 'framenavigated' | 'crash',
    o: { timeout?: number } = {},
  ): Promise<unknown> {
    return waitForEvent(this as unknown as EventEmitter, event, {
      timeout: o.timeout ?? DEFAULT_TIMEOUT_MS,
      what: `event "${event}"`,
    });
  }
}

/** The source of an init script: an expression, or a function called with its JSON argument. */
export function initScriptSource<A>(script: string | ((arg: A) => unknown), arg?: A): string {
  return typeof script === 'string'
    ? script
    : `(${script.toString()})(${arg === undefined ? '' : JSON.stringify(arg)})`;
}
