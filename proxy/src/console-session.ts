import { randomUUID } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import type { Duplex, Writable } from 'node:stream';
import { describeIssues, type ViewerRole } from '@bmc-console/common/contracts/agent-api';
import type { DirectTarget } from '@bmc-console/common/contracts/direct-target';
import type { RecordingEvent } from '@bmc-console/common/contracts/recording';
import {
  VIEWER_CHANNEL_PROTOCOL,
  viewerRequestSchema,
  type ProxyToViewer,
  type RefusedMessage,
} from '@bmc-console/common/contracts/viewer-channel';
import type { BmcSessions } from '@bmc-console/common/direct/bmc-sessions';
import { DirectKvmError } from '@bmc-console/common/direct/errors';
import type { DirectKvm } from '@bmc-console/common/direct/open-direct-kvm';
import type { Logger } from '@bmc-console/common/log';
import { ByteReader } from '@bmc-console/common/rfb/byte-reader';
import { RfbError } from '@bmc-console/common/rfb/errors';
import type { RawData, WebSocket } from 'ws';
import { ClientMessages, type ClientMessage } from '@bmc-console/common/rfb/client-messages';
import { CloseCode, type CloseKind } from './close-codes.js';
import type { ProxyConfig } from './config.js';
import { auditFieldsOf, type ConsoleEndpoint, sameEndpoint } from './console-endpoint.js';
import type { ConsoleRoom, DropReason, RoomMember } from './console-room.js';
import type { ProxyMetrics } from './metrics.js';
import { BurstWrites } from './burst-writes.js';
import type { ReadBufferPool } from './read-buffers.js';
import type { RecorderFactory, SessionRecorder } from './recording/session-recorder.js';
import { proxySecurity, relayInit } from './security-proxy.js';
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
  /** The room of a console's viewers (one per node with live sessions; created on first use). */
  room: (node: string) => ConsoleRoom;
  /** Opens session recordings; without it a console that must be recorded refuses its viewers. */
  recorders?: RecorderFactory;
  /** The proxy's BMC logins for direct consoles (one per node, shared by its viewers). */
  bmcSessions: BmcSessions;
  onEnd: (s: ConsoleSession) => void;
}

/** The longest side-channel request the proxy reads; requests are a few dozen bytes. */
const MAX_REQUEST_BYTES = 1024;

/** What a viewer is told when a direct console's BMC ends the KVM socket mid-session. */
const BMC_CLOSED = 'the BMC closed the console';

/** The close code for a direct console's failure, by what went wrong (errors.ts). */
const DIRECT_FAILURE_CLOSE: Record<DirectKvmError['failure'], CloseKind> = {
  credentials: 'bmcLoginRefused',
  busy: 'bmcBusy',
  certificate: 'bmcCertificate',
  unreachable: 'consoleUnreachable',
  other: 'consoleClosed',
};

/** A websocket close reason: at most 123 bytes of UTF-8, cut at a character boundary. */
function closeReason(text: string): string {
  const bytes = Buffer.from(text);
  if (bytes.length <= 123) return text;
  let end = 123;
  // Back off continuation bytes (10xxxxxx) so no character is split.
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString();
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/**
 * One browser websocket relayed to one console: its RFB port, or a direct console's BMC KVM stream (standard RFB
 * from BmcSessions). The proxy's own RFB handshake up to ServerInit, relay
 * with backpressure both ways (viewer input gated per message by role and the console's room), optional recording
 * tap and side channel, pings, idle/max-length/expiry timers, periodic token re-verification and audit lines.
 */
export class ConsoleSession implements RoomMember {
  readonly id = randomUUID();
  readonly start = new Date();
  private bytesToConsole = 0;
  private bytesToBrowser = 0;
  /** The console's side: the TCP socket to an RFB port, or a direct console's KVM stream. */
  private link: Duplex | undefined;
  /** A direct console's KVM stream and its close() (which also releases the node's BMC login). */
  private directKvm: DirectKvm | undefined;
  private relaying = false;
  private ended = false;
  private lastActivity = Date.now();
  private awaitingPong = false;
  private timers: NodeJS.Timeout[] = [];
  private readonly browserReader = new ByteReader();
  private reverifying = false;
  private expiryTimer: NodeJS.Timeout | undefined;
  private readonly clientMessages = new ClientMessages((m) => this.gate(m));
  private inputDropped = 0;
  private readonly droppedBy: Record<DropReason, { inc(): void }>;
  private room: ConsoleRoom | undefined;
  private recorder: SessionRecorder | undefined;
  /** The viewer offered the side channel: it gets presence as text frames and may send requests. */
  private readonly channel: boolean;
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
    const dropped = deps.metrics.inputDropped;
    this.droppedBy = {
      'view-only': dropped.labels('view-only'),
      'read-only': dropped.labels('read-only'),
      'not-holder': dropped.labels('not-holder'),
    };
    this.burst = new BurstWrites(browserSocket);
    this.channel = ws.protocol === VIEWER_CHANNEL_PROTOCOL;
  }

  get readOnly(): boolean {
    return this.target.readOnly;
  }

  get user(): string | null {
    return this.target.user;
  }

  get role(): ViewerRole {
    return this.target.role;
  }

  get exclusive(): boolean {
    return this.target.exclusive;
  }

  get recording(): boolean {
    return this.target.record;
  }

  roomEvent(e: RecordingEvent): void {
    this.recorder?.event(e);
  }

  roomChanged(): void {
    if (this.channel && this.room) this.sendChannel(this.room.presence(this.id));
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
        user: this.target.user,
        role: this.target.role,
        readOnly: this.target.readOnly,
        ...auditFieldsOf(this.target.console),
        ...(this.target.exclusive ? { exclusive: true } : {}),
        ...(this.target.record ? { record: true } : {}),
      },
      'console session started',
    );

    const ws = this.ws;
    ws.on('message', (data, isBinary) => {
      if (!isBinary) {
        if (!this.channel) return this.close('textFrame');
        this.lastActivity = Date.now();
        return this.onRequest(toBuffer(data));
      }
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
      // A direct console's viewer is told the BMC step's own words (they hold no secret by design).
      if (err instanceof DirectKvmError) return this.close(DIRECT_FAILURE_CLOSE[err.failure], err.message, err.message);
      const e = err instanceof RfbError ? err : new RfbError(String(err));
      const kind: CloseKind =
        e.code === 'connect'
          ? 'consoleUnreachable'
          : e.code === 'auth'
            ? 'consoleAuthFailed'
            : e.message.startsWith('console')
              ? 'consoleClosed'
              : 'securityFailed';
      this.close(kind, e.message, this.target.console.kind === 'direct' ? e.message : undefined);
    });
  }

  /**
   * Closes the session (idempotent): websocket close code + reason for the viewer, audit line, metrics. `toViewer`
   * replaces the code's standard reason (it must hold no secret).
   */
  close(kind: CloseKind, detail?: string, toViewer?: string): void {
    if (this.ended) return;
    this.ended = true;
    for (const t of this.timers) clearTimeout(t);
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    const { code } = CloseCode[kind];
    const reason = toViewer ?? CloseCode[kind].reason;
    this.browserReader.fail(new RfbError('session closed', 'closed'));
    this.endLink();
    if (this.room) {
      // The gauge first: the room's last leave removes the node's label.
      this.deps.metrics.viewers.dec({ node: this.node });
      this.room.leave(this.id);
    }
    this.recorder?.close().catch((err: unknown) => {
      this.deps.log.warn(
        { session: this.id, node: this.node, err: (err as Error).message },
        'closing recording failed',
      );
    });
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) {
      // Close reasons are limited to 123 bytes by the websocket protocol.
      this.ws.close(code, closeReason(reason));
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
        user: this.target.user,
        role: this.target.role,
        ...auditFieldsOf(this.target.console),
        start: this.start.toISOString(),
        end: end.toISOString(),
        durationMs: end.getTime() - this.start.getTime(),
        bytesToConsole: this.bytesToConsole,
        bytesToBrowser: this.bytesToBrowser,
        inputDropped: this.inputDropped,
        closeCode: code,
        closeReason: kind,
        ...(detail ? { detail } : {}),
      },
      'console session ended',
    );
    this.deps.onEnd(this);
  }

  /** Ends the console's side: the TCP socket, or the direct KVM stream (BmcSessions keeps the login for its grace). */
  private endLink(): void {
    const kvm = this.directKvm;
    if (!kvm) return void this.link?.destroy();
    this.directKvm = undefined;
    kvm.close().catch((err: unknown) => {
      this.deps.log.warn(
        { session: this.id, node: this.node, err: (err as Error).message },
        'closing the direct console failed',
      );
    });
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
      if (!sameEndpoint(r.target.console, this.target.console)) return this.close('tokenRevoked', 'console moved');
      if (r.target.expiresAt.getTime() !== this.target.expiresAt.getTime()) {
        // Only the lifetime follows the agent: role and room membership stay as the session joined.
        this.target = { ...this.target, expiresAt: r.target.expiresAt };
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
    const endpoint = this.target.console;
    const link = endpoint.kind === 'rfb' ? await this.openTcp(endpoint) : await this.openDirect(endpoint.target);
    if (!link) return;

    // The proxy ends both handshakes itself for every session, so it knows where the viewer's message stream
    // starts (to gate input) and what the console's framebuffer is (for the recording).
    const consoleEnd = { reader: this.consoleReader, write: (b: Buffer) => void link.write(b) };
    const browserEnd = { reader: this.browserReader, write: (b: Buffer) => void this.toBrowser(b) };
    // A direct console's stream offers security None (the BMC login is behind it).
    await proxySecurity(consoleEnd, browserEnd, endpoint.kind === 'rfb' ? endpoint.vncPassword : undefined);
    const serverInit = await relayInit(consoleEnd, browserEnd);
    if (this.ended) return;
    if (this.target.record && !this.openRecorder(serverInit)) return;
    this.toBrowser(serverInit);
    this.room = this.deps.room(this.node);
    this.deps.metrics.viewers.inc({ node: this.node });
    this.room.join(this);
    // From here on, console bytes pass untouched. Flush what the handshake readers already buffered.
    this.relaying = true;
    const fromBrowser = this.browserReader.drain();
    if (fromBrowser.length) this.toConsole(fromBrowser);
    const fromConsole = this.consoleReader.drain();
    if (fromConsole.length) {
      this.recorder?.consoleBytes(fromConsole);
      this.toBrowser(fromConsole);
    }
    link.on('drain', () => this.ws.resume());
  }

  /** Connects to an RFB port; undefined when the session ended meanwhile. */
  private async openTcp(endpoint: Extract<ConsoleEndpoint, { kind: 'rfb' }>): Promise<Socket | undefined> {
    const { config, readBuffers } = this.deps;
    const where = `${endpoint.host}:${endpoint.port}`;
    const tcp = netConnect({
      host: endpoint.host,
      port: endpoint.port,
      // Reads land in pooled buffers (see read-buffers.ts); each is handed back once the websocket wrote it.
      onread: { buffer: () => readBuffers.take(), callback: (n, buf) => this.fromConsole(buf as Buffer, n) },
    });
    this.link = tcp;
    tcp.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => {
        tcp.destroy();
        reject(
          new RfbError(`console ${where} did not accept within ${config.limits.consoleConnectTimeoutMs} ms`, 'connect'),
        );
      }, config.limits.consoleConnectTimeoutMs);
      tcp.once('connect', () => {
        clearTimeout(t);
        resolve();
      });
      tcp.once('error', (e) => {
        clearTimeout(t);
        reject(new RfbError(`console ${where}: ${e.message}`, 'connect'));
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
    return tcp;
  }

  /**
   * Opens this viewer's KVM socket on the node's BMC (logging in on the first viewer); undefined when the session
   * ended meanwhile. Rejects with the DirectKvmError of the step that failed.
   */
  private async openDirect(target: DirectTarget): Promise<Duplex | undefined> {
    const kvm = await this.deps.bmcSessions.open(this.node, target);
    if (this.ended) {
      void kvm.close().catch(() => {});
      return undefined;
    }
    this.directKvm = kvm;
    const stream = kvm.stream;
    this.link = stream;
    // The BMC's websocket hands out buffers of its own: plain 'data' events, no pooled reads.
    stream.on('data', (b: Buffer) => this.fromDirect(b));
    const lost = (why: string) => {
      if (this.relaying) this.close('consoleClosed', why, BMC_CLOSED);
      else this.consoleReader.fail(new RfbError(why, 'closed'));
    };
    stream.on('end', () => lost(BMC_CLOSED));
    stream.on('close', () => lost(BMC_CLOSED));
    stream.on('error', (e) => lost(`${BMC_CLOSED}: ${e.message}`));
    return stream;
  }

  /** Starts the recording this console requires; false when it cannot (the session is closed then). */
  private openRecorder(serverInit: Buffer): boolean {
    const factory = this.deps.recorders;
    let why: string;
    if (factory) {
      try {
        this.recorder = factory({
          session: this.id,
          node: this.node,
          user: this.target.user,
          role: this.target.role,
          readOnly: this.target.readOnly,
          source: this.source,
          tokenId: tokenFingerprint(this.token),
          start: new Date(),
          serverInit,
        });
        return true;
      } catch (err) {
        why = `cannot record: ${(err as Error).message}`;
      }
    } else why = 'this console must be recorded but the proxy has no recording directory configured';
    this.deps.log.warn({ session: this.id, node: this.node, err: why }, 'recording required but not available');
    this.close('recordingUnavailable', why);
    return false;
  }

  /** Decides one whole client message: input passes only when this viewer may type now. */
  private gate(m: ClientMessage): boolean {
    let pass = true;
    if (m.input) {
      const why: DropReason | null = this.room ? this.room.dropReason(this) : 'not-holder';
      if (why !== null) {
        pass = false;
        this.inputDropped++;
        this.droppedBy[why].inc();
      } else this.room?.noteInput(this);
    }
    this.recorder?.viewerMessage(m.bytes, !pass);
    return pass;
  }

  /** A side-channel request (text frame): a bad one is refused, never fatal. */
  private onRequest(data: Buffer): void {
    let json: unknown;
    try {
      json = data.length <= MAX_REQUEST_BYTES ? JSON.parse(data.toString('utf8')) : undefined;
    } catch {
      json = undefined;
    }
    const parsed = viewerRequestSchema.safeParse(json);
    if (!parsed.success) {
      const reason =
        json === undefined
          ? `expected a JSON request of at most ${MAX_REQUEST_BYTES} bytes`
          : describeIssues(parsed.error, 'request');
      return this.refuse(requestNamed(json), reason);
    }
    const req = parsed.data;
    const room = this.room;
    if (!room) return this.refuse(req.type, 'the console session is not ready yet');
    const answer = req.type === 'hand-over' ? room.handOver(this.id, req.to) : room.takeControl(this.id);
    if (!answer.ok) return this.refuse(req.type, answer.reason);
    this.deps.log.info(
      {
        event: req.type,
        session: this.id,
        node: this.node,
        user: this.target.user,
        ...(req.type === 'hand-over'
          ? { to: answer.other?.session, toUser: answer.other?.user ?? null }
          : { from: answer.other?.session ?? null, fromUser: answer.other?.user ?? null }),
      },
      req.type === 'hand-over' ? 'control handed over' : 'control taken',
    );
  }

  private refuse(request: RefusedMessage['request'], reason: string): void {
    this.sendChannel({ type: 'refused', request, reason });
  }

  private sendChannel(msg: ProxyToViewer): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(msg));
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
    this.recorder?.consoleBytes(buf.subarray(0, n));
    const full = n === buf.length;
    this.burst.beforeWrite(full);
    const more = this.toBrowser(buf.subarray(0, n), () => readBuffers.give(buf));
    this.burst.afterWrite(full);
    return more;
  }

  /** A direct console's stream: bytes from the BMC's KVM, already standard RFB. */
  private fromDirect(b: Buffer): void {
    if (!this.relaying) return this.consoleReader.push(b);
    this.lastActivity = Date.now();
    this.recorder?.consoleBytes(b);
    this.toBrowser(b);
  }

  private toConsole(data: Buffer): void {
    const link = this.link;
    if (!link || link.destroyed) return;
    let b: Buffer;
    try {
      b = this.clientMessages.push(data);
    } catch (err) {
      return this.close('clientMessage', (err as Error).message);
    }
    if (b.length === 0) return;
    this.bytesToConsole += b.length;
    this.toConsoleBytes.inc(b.length);
    // Backpressure: stop reading the websocket while the console's socket buffer is full.
    if (!link.write(b)) this.ws.pause();
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
      if (this.link?.isPaused() && this.ws.bufferedAmount < high / 2) this.link.resume();
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
      this.link?.pause();
      return false;
    }
    return true;
  }
}

/** The request a refusal answers: `unknown` for a frame that names neither request. */
function requestNamed(json: unknown): RefusedMessage['request'] {
  const type = typeof json === 'object' && json !== null ? (json as { type?: unknown }).type : undefined;
  return type === 'take-control' || type === 'hand-over' ? type : 'unknown';
}
