/**
 * The Chrome DevTools Protocol over Chromium's `--remote-debugging-pipe`: JSON messages, each ended by a NUL byte,
 * written to the browser's fd 3 and read from its fd 4. Flat sessions: every message to or from a target carries its
 * sessionId, so one pipe serves the browser and all its pages.
 *
 * Hand-written instead of playwright-core (see browser.ts for why): this file is the whole transport.
 */
import { EventEmitter } from 'node:events';
import type { Readable, Writable } from 'node:stream';

/** A CDP command Chromium answered with an error; the message names the method. */
class CdpError extends Error {
  override name = 'CdpError';
}

interface Pending {
  resolve(result: unknown): void;
  reject(err: Error): void;
  method: string;
}

interface Message {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  result?: unknown;
  error?: { message: string; data?: string };
  sessionId?: string;
}

/** One CDP session: the browser's (id '') or a target's. Events are emitted under their CDP names. */
export class CdpSession extends EventEmitter {
  detached = false;

  constructor(
    private readonly connection: CdpConnection,
    readonly id: string,
  ) {
    super();
  }

  send<T = unknown>(method: string, params: object = {}): Promise<T> {
    if (this.detached) return Promise.reject(new CdpError(`${method}: the target is closed (session detached)`));
    return this.connection.send<T>(method, params, this.id);
  }
}

export class CdpConnection extends EventEmitter {
  private lastId = 0;
  private readonly pending = new Map<number, Pending & { sessionId: string }>();
  private readonly sessions = new Map<string, CdpSession>();
  private readonly buffered: Buffer[] = [];
  private closedWith: string | undefined;
  readonly browserSession: CdpSession;

  constructor(
    private readonly out: Writable,
    input: Readable,
  ) {
    super();
    this.browserSession = new CdpSession(this, '');
    this.sessions.set('', this.browserSession);
    input.on('data', (chunk: Buffer) => this.receive(chunk));
    input.on('close', () => this.closed('the browser closed its end of the pipe'));
    input.on('error', () => undefined);
    out.on('error', () => this.closed('the pipe to the browser broke'));
  }

  get isClosed(): boolean {
    return this.closedWith !== undefined;
  }

  send<T>(method: string, params: object, sessionId: string): Promise<T> {
    if (this.closedWith) return Promise.reject(new CdpError(`${method}: ${this.closedWith}`));
    const id = ++this.lastId;
    const msg: Message = { id, method, params: params as Record<string, unknown> };
    if (sessionId) msg.sessionId = sessionId;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (r: unknown) => void, reject, method, sessionId });
      this.out.write(`${JSON.stringify(msg)}\0`);
    });
  }

  /** The session of a target attached with `flatten: true` (Target.attachedToTarget), created on first sight. */
  session(sessionId: string): CdpSession {
    let s = this.sessions.get(sessionId);
    if (!s) {
      s = new CdpSession(this, sessionId);
      this.sessions.set(sessionId, s);
    }
    return s;
  }

  /** Every CDP message passes here: a message within one chunk is decoded in place, without a copy. */
  private receive(chunk: Buffer): void {
    let start = 0;
    for (let end = chunk.indexOf(0); end !== -1; end = chunk.indexOf(0, start)) {
      let text: string;
      if (this.buffered.length === 0) text = chunk.toString('utf8', start, end);
      else {
        this.buffered.push(chunk.subarray(start, end));
        text = Buffer.concat(this.buffered).toString('utf8');
        this.buffered.length = 0;
      }
      start = end + 1;
      this.dispatch(JSON.parse(text) as Message);
    }
    if (start < chunk.length) this.buffered.push(chunk.subarray(start));
  }

  private dispatch(msg: Message): void {
    if (msg.id !== undefined) {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error)
        p.reject(new CdpError(`${p.method}: ${msg.error.message}${msg.error.data ? ` (${msg.error.data})` : ''}`));
      else p.resolve(msg.result ?? {});
      return;
    }
    if (!msg.method) return;
    const session = this.sessions.get(msg.sessionId ?? '');
    if (msg.method === 'Target.detachedFromTarget') {
      const gone = this.sessions.get(String(msg.params?.sessionId ?? ''));
      if (gone) this.detach(gone);
    }
    session?.emit(msg.method, msg.params ?? {});
  }

  private detach(session: CdpSession): void {
    session.detached = true;
    this.sessions.delete(session.id);
    for (const [id, p] of this.pending)
      if (p.sessionId === session.id) {
        this.pending.delete(id);
        p.reject(new CdpError(`${p.method}: the target is closed (session detached)`));
      }
    session.emit('detached');
  }

  private closed(why: string): void {
    if (this.closedWith) return;
    this.closedWith = why;
    for (const p of this.pending.values()) p.reject(new CdpError(`${p.method}: ${why}`));
    this.pending.clear();
    for (const s of this.sessions.values()) if (s !== this.browserSession) this.detach(s);
    this.emit('close', why);
  }

  /** Ends the pipe from our side (the browser exits when it sees EOF on fd 3). */
  close(): void {
    this.out.end();
    this.closed('the connection was closed');
  }
}
