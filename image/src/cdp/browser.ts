/**
 * Chromium launched and driven over CDP by bmc-console's own small driver, not playwright-core: in the console,
 * node's anonymous memory was 46-50 MiB with playwright-core loaded and 9 MiB without, its load cost ~0.3 s of CPU
 * on the cold-start path, and it enables CDP's Network domain, under which every websocket frame of a real BMC's KVM
 * would come to node as a JSON event. The driver offers the part of Playwright's API the vendor scripts and the
 * supervisor use, with Playwright's names and meanings (docs/image.md, *The browser driver*).
 *
 * Targets are auto-attached with waitForDebuggerOnStart, so a page (a popup too) has its init scripts, bindings and
 * request filter before its first script runs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { CdpConnection, type CdpSession } from './connection.js';
import { type BindingCallback, type DocumentFilter, initScriptSource, Page } from './page.js';
import { TimeoutError, waitForEvent } from './wait-event.js';

export interface LaunchOptions {
  executablePath: string;
  headless?: boolean;
  /** Chromium's flags (the driver adds only the pipe, the profile directory and, when headless, --headless). */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** The profile; a temporary directory (removed at close) when absent. */
  userDataDir?: string;
  /** Until the browser answers on the pipe (default 90 s: a loaded 2-core machine can take 15 s and more). */
  timeoutMs?: number;
  /** Aborted: the launch is no longer wanted; the browser is killed and the launch rejects. */
  signal?: AbortSignal;
}

export interface ContextOptions {
  /** The pages' viewport; absent or null: the window's size. */
  viewport?: { width: number; height: number } | null;
  /** Accept any certificate (`bmc-console try` with verify_ca false; the console pins the BMC's instead). */
  ignoreHTTPSErrors?: boolean;
}

export interface Cookie {
  name: string;
  value: string;
  domain: string;
  path: string;
  expires: number;
  httpOnly: boolean;
  secure: boolean;
  sameSite?: 'Strict' | 'Lax' | 'None';
}
export type CookieParam = Pick<Cookie, 'name' | 'value' | 'domain'> &
  Partial<Omit<Cookie, 'name' | 'value' | 'domain'>>;

interface TargetInfo {
  targetId: string;
  type: string;
  url: string;
  openerId?: string;
  browserContextId?: string;
}

export async function launchBrowser(o: LaunchOptions): Promise<Browser> {
  const tempProfile = o.userDataDir ? undefined : mkdtempSync(join(tmpdir(), 'bmc-console-chromium-'));
  const args = [
    `--user-data-dir=${o.userDataDir ?? tempProfile}`,
    '--remote-debugging-pipe',
    ...(o.headless ? ['--headless', '--hide-scrollbars', '--mute-audio'] : []),
    ...(o.args ?? []),
    'about:blank',
  ];
  const child = spawn(o.executablePath, args, {
    env: o.env ?? process.env,
    stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
  });
  // Chromium logs to stderr: drained (a full pipe would stop it), the tail kept for a failed launch's message.
  let stderrTail = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderrTail = (stderrTail + d.toString('utf8')).slice(-2000);
  });
  const exited = new Promise<never>((_, reject) => {
    child.once('error', (err) => reject(new Error(`cannot start ${o.executablePath}: ${err.message}`)));
    child.once('exit', (code, signal) =>
      reject(
        new Error(
          `Chromium exited during launch (${signal ?? `code ${code}`}): ${stderrTail.trim().split('\n').slice(-3).join(' | ')}`,
        ),
      ),
    );
  });
  exited.catch(() => undefined);
  const connection = new CdpConnection(child.stdio[3] as Writable, child.stdio[4] as Readable);
  const browser = new Browser(connection, child, tempProfile);
  const timeoutMs = o.timeoutMs ?? 90_000;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    await Promise.race([
      browser.start(),
      exited,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new TimeoutError(`Chromium did not answer within ${timeoutMs} ms`)), timeoutMs);
        const signal = o.signal;
        if (!signal) return;
        onAbort = () => reject(new Error('the launch was called off'));
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
  } catch (err) {
    child.kill('SIGKILL');
    if (tempProfile) rmSync(tempProfile, { recursive: true, force: true });
    throw err;
  } finally {
    clearTimeout(timer);
    if (onAbort) o.signal?.removeEventListener('abort', onAbort);
  }
  return browser;
}

export class Browser extends EventEmitter {
  private readonly contextsById = new Map<string, BrowserContext>();
  private defaultId: string | undefined;
  private readonly pagesByTarget = new Map<string, Page>();
  private disconnected = false;
  private readonly processExit: Promise<void>;

  constructor(
    readonly connection: CdpConnection,
    private readonly child: ChildProcess,
    private readonly tempProfile: string | undefined,
  ) {
    super();
    this.processExit = new Promise((resolve) => {
      if (child.exitCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    const done = (): void => this.didDisconnect();
    connection.once('close', done);
    child.once('exit', () => {
      connection.close();
      done();
    });
    connection.browserSession.on(
      'Target.attachedToTarget',
      (e: { sessionId: string; targetInfo: TargetInfo }) => void this.attached(e.sessionId, e.targetInfo),
    );
  }

  /** The browser process's pid. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  isConnected(): boolean {
    return !this.disconnected;
  }

  /** Attaches to every page (the start page too) and waits for the first one. */
  async start(): Promise<void> {
    const first = waitForEvent<Page>(this, 'page-attached', { timeout: 2 ** 31 - 1, what: 'the first page' });
    await this.connection.browserSession.send('Target.setAutoAttach', {
      autoAttach: true,
      waitForDebuggerOnStart: true,
      flatten: true,
    });
    const page = await first;
    this.defaultId = page.context().id;
  }

  private async attached(sessionId: string, info: TargetInfo): Promise<void> {
    const session = this.connection.session(sessionId);
    if (info.type !== 'page') {
      // Workers and the like: let them run, without us.
      await session.send('Runtime.runIfWaitingForDebugger').catch(() => undefined);
      await this.connection.browserSession.send('Target.detachFromTarget', { sessionId }).catch(() => undefined);
      return;
    }
    const context = this.contextFor(info.browserContextId ?? '');
    const page = new Page(context, session, info.targetId, info.openerId);
    this.pagesByTarget.set(info.targetId, page);
    page.once('close', () => {
      this.pagesByTarget.delete(info.targetId);
      context.pageClosed(page);
    });
    try {
      await context.initializePage(page);
    } catch {
      // Closed while starting (a popup the BMC opened and closed): nothing to report.
      if (!page.isClosed()) await session.send('Runtime.runIfWaitingForDebugger').catch(() => undefined);
      return;
    }
    if (page.isClosed()) return;
    context.pageReady(page);
    this.emit('page-attached', page);
    if (info.openerId) this.pagesByTarget.get(info.openerId)?.emit('popup', page);
  }

  private contextFor(id: string): BrowserContext {
    let c = this.contextsById.get(id);
    if (!c) {
      c = new BrowserContext(this, id, {});
      this.contextsById.set(id, c);
    }
    return c;
  }

  pageByTargetId(targetId: string): Page | undefined {
    return this.pagesByTarget.get(targetId);
  }

  contexts(): BrowserContext[] {
    return [...this.contextsById.values()];
  }

  /** The profile's own context (the kiosk's); it exists from the launch. */
  defaultContext(): BrowserContext {
    return this.contextFor(this.defaultId ?? '');
  }

  /** A fresh, cookie-less context (tests; `try`). */
  async newContext(o: ContextOptions = {}): Promise<BrowserContext> {
    const r = await this.connection.browserSession.send<{ browserContextId: string }>('Target.createBrowserContext', {
      disposeOnDetach: true,
    });
    const c = new BrowserContext(this, r.browserContextId, o);
    this.contextsById.set(r.browserContextId, c);
    return c;
  }

  async newPage(): Promise<Page> {
    return (await this.newContext()).newPage();
  }

  async createPage(context: BrowserContext): Promise<Page> {
    const ready = waitForEvent<Page>(this, 'page-attached', {
      timeout: 30_000,
      predicate: (p) => p.targetId === targetId,
      what: 'the new page',
    });
    let targetId = '';
    const r = await this.connection.browserSession.send<{ targetId: string }>('Target.createTarget', {
      url: 'about:blank',
      ...(context.id && context.id !== this.defaultId ? { browserContextId: context.id } : {}),
    });
    targetId = r.targetId;
    const existing = this.pagesByTarget.get(targetId);
    if (existing && context.pages().includes(existing)) {
      ready.catch(() => undefined);
      return existing;
    }
    return ready;
  }

  async closeTarget(targetId: string): Promise<void> {
    await this.connection.browserSession.send('Target.closeTarget', { targetId }).catch(() => undefined);
  }

  async disposeContext(context: BrowserContext): Promise<void> {
    if (context.id === this.defaultId) return this.close();
    await this.connection.browserSession.send('Target.disposeBrowserContext', { browserContextId: context.id });
    this.contextsById.delete(context.id);
    context.didClose();
  }

  /** Asks the browser to close, then kills it after `graceMs`; resolves once the process is gone. */
  async close(graceMs = 5000): Promise<void> {
    if (!this.disconnected) await this.connection.browserSession.send('Browser.close').catch(() => undefined);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.processExit;
    clearTimeout(timer);
    this.didDisconnect();
  }

  /** Kills the browser at once, for one with nothing to save; resolves once the process is gone. */
  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.processExit;
    this.didDisconnect();
  }

  private didDisconnect(): void {
    if (this.disconnected) return;
    this.disconnected = true;
    for (const c of this.contextsById.values()) c.didClose();
    if (this.tempProfile) {
      const dir = this.tempProfile;
      void this.processExit.then(() => rmSync(dir, { recursive: true, force: true }));
    }
    this.emit('disconnected');
  }
}

export interface ContextEvents {
  page: [Page];
  close: [BrowserContext];
}

export class BrowserContext extends EventEmitter<ContextEvents> {
  private readonly livePages = new Set<Page>();
  private readonly initScripts: string[] = [];
  private readonly bindings = new Map<string, BindingCallback>();
  private newPageFilter: ((page: Page) => DocumentFilter) | undefined;
  private closed = false;

  constructor(
    private readonly owner: Browser,
    readonly id: string,
    private readonly options: ContextOptions,
  ) {
    super();
    this.setMaxListeners(50);
  }

  browser(): Browser {
    return this.owner;
  }
  pages(): Page[] {
    return [...this.livePages];
  }
  pageByTargetId(targetId: string): Page | undefined {
    return this.owner.pageByTargetId(targetId);
  }

  initializePage(page: Page): Promise<void> {
    return page.initialize({
      initScripts: this.initScripts,
      bindings: this.bindings,
      viewport: this.options.viewport ?? null,
      ignoreHTTPSErrors: this.options.ignoreHTTPSErrors === true,
      documentFilter: this.newPageFilter?.(page),
    });
  }
  pageReady(page: Page): void {
    this.livePages.add(page);
    this.emit('page', page);
  }
  pageClosed(page: Page): void {
    this.livePages.delete(page);
  }
  didClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close', this);
  }

  newPage(): Promise<Page> {
    return this.owner.createPage(this);
  }
  closeTarget(targetId: string): Promise<void> {
    return this.owner.closeTarget(targetId);
  }

  /** Closes the context; the default one closes the browser. */
  close(): Promise<void> {
    return this.owner.disposeContext(this);
  }

  private get browserSession(): CdpSession {
    return this.owner.connection.browserSession;
  }
  private contextParam(): { browserContextId?: string } {
    return this.id && this !== this.owner.defaultContext() ? { browserContextId: this.id } : {};
  }

  /** The context's cookies, or those a request to one of `urls` would send. */
  async cookies(urls?: string | string[]): Promise<Cookie[]> {
    const r = await this.browserSession.send<{ cookies: (Cookie & { session?: boolean })[] }>(
      'Storage.getCookies',
      this.contextParam(),
    );
    const list = urls === undefined ? [] : (Array.isArray(urls) ? urls : [urls]).map((u) => new URL(u));
    return r.cookies
      .filter((c) => list.length === 0 || list.some((u) => cookieMatches(c, u)))
      .map((c) => ({
        name: c.name,
        value: c.value,
        domain: c.domain,
        path: c.path,
        expires: c.expires,
        httpOnly: c.httpOnly,
        secure: c.secure,
        ...(c.sameSite ? { sameSite: c.sameSite } : {}),
      }));
  }

  async addCookies(cookies: CookieParam[]): Promise<void> {
    await this.browserSession.send('Storage.setCookies', {
      cookies: cookies.map((c) => ({ path: '/', ...c })),
      ...this.contextParam(),
    });
  }

  /** Deletes the cookies (those named `filter.name` only, when given). */
  async clearCookies(filter: { name?: string } = {}): Promise<void> {
    const keep = filter.name === undefined ? [] : (await this.cookies()).filter((c) => c.name !== filter.name);
    await this.browserSession.send('Storage.clearCookies', this.contextParam());
    if (keep.length > 0) await this.addCookies(keep);
  }

  /**
   * The document filter (made for each page) every page the context opens from now on starts with, before its first
   * request (a popup's first document included); pages already open keep theirs.
   */
  setNewPageDocumentFilter(filter: ((page: Page) => DocumentFilter) | undefined): void {
    this.newPageFilter = filter;
  }

  /** Runs in every later document of every page of the context. */
  async addInitScript<A>(script: string | ((arg: A) => unknown), arg?: A): Promise<void> {
    const source = initScriptSource(script, arg);
    this.initScripts.push(source);
    await Promise.all(this.pages().map((p) => p.addInitScript(source).catch(() => undefined)));
  }

  async exposeBinding(name: string, callback: BindingCallback): Promise<void> {
    this.bindings.set(name, callback);
    await Promise.all(this.pages().map((p) => p.exposeBinding(name, callback).catch(() => undefined)));
  }

  exposeFunction(name: string, fn: (...args: unknown[]) => unknown): Promise<void> {
    return this.exposeBinding(name, (_source, ...args) => fn(...args));
  }

  waitForEvent(event: 'page' | 'close', o: { timeout?: number } = {}): Promise<unknown> {
    return waitForEvent(this as unknown as EventEmitter, event, {
      timeout: o.timeout ?? 30_000,
      what: `event "${event}"`,
    });
  }
}

/** Whether a request to `u` would carry cookie `c` (domain, path and secure; enough for a BMC's own cookies). */
function cookieMatches(c: Cookie, u: URL): boolean {
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const domain = c.domain.replace(/^\./, '');
  const domainOk = c.domain.startsWith('.') ? host === domain || host.endsWith(`.${domain}`) : host === domain;
  const path = u.pathname || '/';
  const pathOk = path === c.path || path.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`) || c.path === '/';
  return domainOk && pathOk && (!c.secure || u.protocol === 'https:' || host === 'localhost' || host === '127.0.0.1');
}
