import { randomUUID } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import type { Writable } from 'node:stream';
import type { Logger } from '@bmc-console/common/log';
import { ByteReader } from '@bmc-console/common/rfb/byte-reader';
import { RfbError } from '@bmc-console/common/rfb/errors';
import type { RawData, WebSocket } from 'ws';
import { CloseCode, type CloseKind } from './close-codes.js';
import type { ProxyConfig } from './config.js';
import type { ProxyMetrics } from './metrics.js';
import { BurstWrites } from './burst-writes.js';
import type { ReadBufferPool } from './read-buffers.js';
import { ReadOnlyFilter } from './read-only-filter.js';
import { proxySecurity } from './security-proxy.js';
import { tokenFingerprint } from './token-fingerprint.js';
import type { ConsoleTarget, TokenVerifier } from './token-verifier.js';

/**
 * Largest websocket frame toward the browser; a console read (up to 128 KiB) goes out as several frames. A client
 * that reads its socket in 64 KiB chunks (Node's default, the `ws` library) can hand out a frame that lies within one
 * chunk as a slice, but must copy one that spans chunks into a fresh buffer: frames of a whole read always span, and
 * the copying doubled such a client's CPU per byte. Small frames cost the proxy a little more (a header each).
 */
export const BROWSER_FRAME_BYTES = 16 * 1024;

const BINARY = { binary: true } as const;

export interface SessionDeps {
  config: ProxyConfig;
  metrics: ProxyMetrics;
  /** Where console reads land; shared by the proxy's sessions. */
  readBuffers: ReadBufferPool;
  log: Logger;
  verifier: TokenVerifier;
  onEnd: (s: ConsoleSession) => void;
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/**
 * One browser websocket relayed to one console's RFB port: optional security proxy, relay with backpressure both
 * ways, pings, idle/max-length/expiry timers, periodic token re-verification and one audit line at the end.
 */
export class ConsoleSession {
  readonly id = randomUUID();
  readonly start = new Date();
  private bytesToConsole = 0;
  private bytesToBrowser = 0;
  private tcp: Socket | undefined;
  private relaying = false;
  private ended = false;
  private lastActivity = Date.now();
  private awaitingPong = false;
  private timers: NodeJS.Timeout[] = [];
  private readonly browserReader = new ByteReader();
  private reverifying = false;
  private expiryTimer: NodeJS.Timeout | undefined;
  private readOnlyFilter: ReadOnlyFilter | undefined;
  /** Console bytes go to the handshake reader until the relay starts. */
  private readonly consoleReader = new ByteReader();
  private readonly toBrowserBytes;
  private readonly toConsoleBytes;
  private readonly burst: BurstWrites;

  /** `browserSocket` is the socket under `ws` (the upgraded request's): console bursts are corked on it. */
  constructor(
    private readonly ws: WebSocket,
    private readonly browserSocket: Writable,
    readonly node: string,
    private readonly token: string,
    readonly source: string,
    private target: ConsoleTarget,
    private readonly deps: SessionDeps,
  ) {
    // Bound once: a labelled inc() per chunk hashed the label set every time.
    this.toBrowserBytes = deps.metrics.bytes.labels('to_browser');
    this.toConsoleBytes = deps.metrics.bytes.labels('to_console');
    this.burst = new BurstWrites(browserSocket);
  }

  get readOnly(): boolean {
    return this.target.readOnly;
  }

  run(): void {
    const { config, metrics } = this.deps;
    const lim = config.limits;
    metrics.sessionsActive.inc();
    metrics.sessionsTotal.inc();
    this.deps.log.info(
      {
        event: 'session-start',
        session: this.id,
        node: this.node,
        source: this.source,
        tokenId: tokenFingerprint(this.token),
        readOnly: this.target.readOnly,
      },
      'console session started',
    );

    const ws = this.ws;
    ws.on('message', (data, isBinary) => {
      if (!isBinary) return this.close('textFrame');
      const buf = toBuffer(data);
      this.lastActivity = Date.now();
      if (!this.relaying) return this.browserReader.push(buf);
      this.toConsole(buf);
    });
    ws.on('close', () => this.close('normal', 'closed by viewer'));
    ws.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.close('tooBig');
      else this.close('normal', `viewer websocket error: ${err.message}`);
    });
    ws.on('pong', () => (this.awaitingPong = false));

    this.every(lim.pingIntervalSec * 1000, () => {
      if (ws.readyState !== ws.OPEN) return;
      if (this.awaitingPong) return this.close('pingTimeout');
      this.awaitingPong = true;
      ws.ping();
    });
    this.every(Math.min(lim.idleTimeoutSec * 1000, 5000), () => {
      if (Date.now() - this.lastActivity >= lim.idleTimeoutSec * 1000) this.close('idle');
    });
    this.after(lim.maxSessionSec * 1000, () => this.close('maxSession'));
    this.scheduleExpiry();
    this.every(lim.reverifyIntervalSec * 1000, () => void this.reverify());

    this.connectConsole().catch((err: unknown) => {
      const e = err instanceof RfbError ? err : new RfbError(String(err));
      const kind: CloseKind =
        e.code === 'connect'
          ? 'consoleUnreachable'
          : e.code === 'auth'
            ? 'consoleAuthFailed'
            : e.message.startsWith('console')
              ? 'consoleClosed'
              : 'securityFailed';
      this.close(kind, e.message);
    });
  }

  /** Closes the session (idempotent): websocket close code + reason for the viewer, audit line, metrics. */
  close(kind: CloseKind, detail?: string): void {
    if (this.ended) return;
    this.ended = true;
    for (const t of this.timers) clearTimeout(t);
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    const { code, reason } = CloseCode[kind];
    this.browserReader.fail(new RfbError('session closed', 'closed'));
    this.tcp?.destroy();
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) {
      // Close reasons are limited to 123 bytes by the websocket protocol.
      this.ws.close(code, Buffer.from(reason).subarray(0, 123).toString());
      const t = setTimeout(() => this.ws.terminate(), 3000);
      t.unref();
    }
    const end = new Date();
    this.deps.metrics.sessionsActive.dec();
    this.deps.metrics.sessionCloses.inc({ reason: kind });
    this.deps.log.info(
      {
        event: 'session-end',
        session: this.id,
        node: this.node,
        source: this.source,
        tokenId: tokenFingerprint(this.token),
        start: this.start.toISOString(),
        end: end.toISOString(),
        durationMs: end.getTime() - this.start.getTime(),
        bytesToConsole: this.bytesToConsole,
        bytesToBrowser: this.bytesToBrowser,
        ...(this.readOnlyFilter ? { inputDropped: this.readOnlyFilter.dropped } : {}),
        closeCode: code,
        closeReason: kind,
        ...(detail ? { detail } : {}),
      },
      'console session ended',
    );
    this.deps.onEnd(this);
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.timers.push(t);
  }

  private after(ms: number, fn: () => void): void {
    // setTimeout cannot wait longer than ~24.8 days; longer waits are capped (the re-verify loop still runs).
    const t = setTimeout(fn, Math.min(Math.max(0, ms), 2 ** 31 - 1));
    t.unref();
    this.timers.push(t);
  }

  private scheduleExpiry(): void {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    const ms = Math.min(Math.max(0, this.target.expiresAt.getTime() - Date.now()), 2 ** 31 - 1);
    this.expiryTimer = setTimeout(() => this.close('tokenExpired'), ms);
    this.expiryTimer.unref();
  }

  private async reverify(): Promise<void> {
    if (this.reverifying || this.ended) return;
    this.reverifying = true;
    try {
      const r = await this.deps.verifier.verify(this.node, this.token);
      if (!r.ok) return this.close(r.reason === 'expired' ? 'tokenExpired' : 'tokenRevoked', `token ${r.reason}`);
      if (r.target.host !== this.target.host || r.target.port !== this.target.port)
        return this.close('tokenRevoked', 'console moved');
      if (r.target.expiresAt.getTime() !== this.target.expiresAt.getTime()) {
        this.target = r.target;
        this.scheduleExpiry(); // the agent extended or shortened the lifetime
      }
    } catch (err) {
      // The agent being briefly away must not cut live sessions; the expiry timer still holds.
      this.deps.log.warn(
        { session: this.id, node: this.node, err: (err as Error).message },
        'token re-verification failed',
      );
    } finally {
      this.reverifying = false;
    }
  }

  private async connectConsole(): Promise<void> {
    const { config, readBuffers } = this.deps;
    const tcp = netConnect({
      host: this.target.host,
      port: this.target.port,
      // Reads land in pooled buffers (see read-buffers.ts); each is handed back once the websocket wrote it.
      onread: { buffer: () => readBuffers.take(), callback: (n, buf) => this.fromConsole(buf as Buffer, n) },
    });
    this.tcp = tcp;
    tcp.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => {
        tcp.destroy();
        reject(
          new RfbError(
            `console ${this.target.host}:${this.target.port} did not accept within ${config.limits.consoleConnectTimeoutMs} ms`,
            'connect',
          ),
        );
      }, config.limits.consoleConnectTimeoutMs);
      tcp.once('connect', () => {
        clearTimeout(t);
        resolve();
      });
      tcp.once('error', (e) => {
        clearTimeout(t);
        reject(new RfbError(`console ${this.target.host}:${this.target.port}: ${e.message}`, 'connect'));
      });
    });
    if (this.ended) return void tcp.destroy();
    // During the handshake a lost console fails the pending read (the handshake names what failed); after it,
    // it ends the session.
    tcp.on('error', (e) => {
      if (this.relaying) this.close('consoleClosed', e.message);
      else this.consoleReader.fail(new RfbError(`socket error: ${e.message}`, 'closed'));
    });
    tcp.on('close', () => {
      if (this.relaying) this.close('consoleClosed');
      else this.consoleReader.fail(new RfbError('connection closed by the server', 'closed'));
    });

    if (this.target.vncPassword !== undefined) {
      await proxySecurity(
        { reader: this.consoleReader, write: (b) => void tcp.write(b) },
        { reader: this.browserReader, write: (b) => this.toBrowser(b) },
        this.target.vncPassword,
      );
      if (this.target.readOnly) this.readOnlyFilter = new ReadOnlyFilter();
    }
    if (this.ended) return;
    // From here on, bytes pass untouched. Flush what the handshake readers already buffered.
    this.relaying = true;
    const fromBrowser = this.browserReader.drain();
    if (fromBrowser.length) this.toConsole(fromBrowser);
    const fromConsole = this.consoleReader.drain();
    if (fromConsole.length) this.toBrowser(fromConsole);
    tcp.on('drain', () => this.ws.resume());
  }

  /** onread callback: `n` bytes from the console in a pooled buffer. Returning false pauses the socket. */
  private fromConsole(buf: Buffer, n: number): boolean {
    const { readBuffers } = this.deps;
    if (!this.relaying) {
      this.consoleReader.push(Buffer.from(buf.subarray(0, n)));
      readBuffers.give(buf);
      return true;
    }
    this.lastActivity = Date.now();
    const full = n === buf.length;
    this.burst.beforeWrite(full);
    const more = this.toBrowser(buf.subarray(0, n), () => readBuffers.give(buf));
    this.burst.afterWrite(full);
    return more;
  }

  private toConsole(data: Buffer): void {
    const tcp = this.tcp;
    if (!tcp || tcp.destroyed) return;
    let b = data;
    if (this.readOnlyFilter) {
      try {
        b = this.readOnlyFilter.push(data);
      } catch (err) {
        return this.close('securityFailed', (err as Error).message);
      }
      if (b.length === 0) return;
    }
    this.bytesToConsole += b.length;
    this.toConsoleBytes.inc(b.length);
    // Backpressure: stop reading the websocket while the console's socket buffer is full.
    if (!tcp.write(b)) this.ws.pause();
  }

  /** Sends to the browser; false when the browser is behind (the caller stops reading the console). */
  private toBrowser(b: Buffer, written?: () => void): boolean {
    if (this.ws.readyState !== this.ws.OPEN) {
      written?.();
      return false;
    }
    this.bytesToBrowser += b.length;
    this.toBrowserBytes.inc(b.length);
    const high = this.deps.config.limits.highWaterMarkBytes;
    const onWritten = (): void => {
      written?.();
      if (this.tcp?.isPaused() && this.ws.bufferedAmount < high / 2) this.tcp.resume();
    };
    if (b.length <= BROWSER_FRAME_BYTES) {
      this.ws.send(b, BINARY, onWritten);
    } else {
      // The frames of one read leave in one write; writes complete in order, so the last frame's callback means
      // the whole buffer is written.
      this.browserSocket.cork();
      let off = 0;
      for (; b.length - off > BROWSER_FRAME_BYTES; off += BROWSER_FRAME_BYTES)
        this.ws.send(b.subarray(off, off + BROWSER_FRAME_BYTES), BINARY);
      this.ws.send(b.subarray(off), BINARY, onWritten);
      this.browserSocket.uncork();
    }
    // Backpressure: stop reading the console while the browser is behind.
    if (this.ws.bufferedAmount > high) {
      this.tcp?.pause();
      return false;
    }
    return true;
  }
}
