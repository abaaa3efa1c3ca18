/**
 * Writes one `<id>.bmcrec` per recorded session (format: common/src/contracts/recording.ts) through a write stream,
 * so the relay never waits for the disk; the HMAC is updated with every byte as it is queued.
 */
import { createHash, createHmac, type Hmac } from 'node:crypto';
import { createWriteStream, mkdirSync, openSync, type WriteStream } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { finished } from 'node:stream/promises';
import type { Logger } from '@bmc-console/common/log';
import {
  RECORDING_ID_RE,
  RecordKind,
  type RecordingEvent,
  type RecordingHeader,
} from '@bmc-console/common/contracts/recording';
import type { Registry } from 'prom-client';
import type { RecordingsConfig } from '../config.js';
import { compactUtc, encodeHeader, encodeRecord, HMAC_BYTES, RECORD_HEAD_BYTES } from './recording-format.js';
import { loadRecordingKey } from './recording-key.js';
import { RecordingMetrics } from './recording-metrics.js';
import { RecordingStore } from './recording-store.js';
import type { RecordedSession, RecorderFactory, SessionRecorder } from './session-recorder.js';

/** Console bytes waiting for the disk beyond this: the disk fell behind, console bytes stop being recorded. */
const MAX_PENDING_CONSOLE_BYTES = 16 * 1024 * 1024;
/** Viewer messages (small, but the audit trail) are dropped only beyond this. */
const MAX_PENDING_BYTES = 64 * 1024 * 1024;

/** A recorder that also tells its recording's id (for logs and tests). */
export type FileSessionRecorder = SessionRecorder & { readonly id: string };

export interface RecordingFactory extends RecorderFactory {
  (s: RecordedSession): FileSessionRecorder;
  readonly store: RecordingStore;
  /**
   * The HMAC key (for the HTTP routes' verification; never logged), with the directory: both are created on the
   * first call. Throws naming the option (recordings.dir, recordings.keyFile) when they cannot be.
   */
  key(): Buffer;
  /** Resolves once the prunes started so far (at creation, after each close) are done. */
  idle(): Promise<void>;
}

/**
 * Touches the disk only when first needed (a proxy that never records needs no writable directory): the first
 * recording, or key(), creates the directory (0700) and the key (0600). Prunes at once (an existing directory)
 * and after each recording closes.
 */
export function createRecorderFactory(config: RecordingsConfig, log: Logger, registry?: Registry): RecordingFactory {
  let cachedKey: Buffer | undefined;
  // Not cached on failure: a directory or key fixed by the operator works from the next session on.
  const key = (): Buffer => {
    if (cachedKey) return cachedKey;
    try {
      mkdirSync(config.dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new Error(`recordings.dir: cannot create ${config.dir} (${(e as NodeJS.ErrnoException).code ?? e})`);
    }
    cachedKey = loadRecordingKey(config.keyFile, { create: true });
    return cachedKey;
  };
  const metrics = registry ? new RecordingMetrics(registry) : undefined;
  const store = new RecordingStore(config.dir, metrics);

  let chain: Promise<void> = Promise.resolve();
  let queued: Promise<void> | undefined;
  // One prune at a time; calls while one waits to run share it (it will see their files too).
  const schedulePrune = (): Promise<void> => {
    if (queued) return queued;
    const p = chain.then(async () => {
      queued = undefined;
      try {
        const removed = await store.prune({ maxBytes: config.maxBytes, maxAgeDays: config.maxAgeDays });
        if (removed.length > 0) log.info({ event: 'recordings-pruned', removed }, 'old recordings removed');
      } catch (err) {
        log.warn({ dir: config.dir, err: (err as Error).message }, 'pruning recordings failed');
      }
    });
    queued = p;
    chain = p;
    return p;
  };
  void schedulePrune();

  const factory = (s: RecordedSession): FileSessionRecorder => {
    if (s.serverInit.length < 4) throw new Error('recording: ServerInit is shorter than its 4 size bytes');
    const id = `${compactUtc(s.start)}-${s.node}-${sessionPart(s.session)}`;
    if (!RECORDING_ID_RE.test(id)) throw new Error(`recording: node ${JSON.stringify(s.node)} cannot name a recording`);
    const hmac = createHmac('sha256', key());
    const path = store.pathOf(id) as string;
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (e) {
      throw new Error(`recording: cannot create ${path} (${(e as NodeJS.ErrnoException).code ?? e})`);
    }
    const header: RecordingHeader = {
      version: 1,
      id,
      session: s.session,
      node: s.node,
      user: s.user,
      role: s.role,
      readOnly: s.readOnly,
      source: s.source,
      tokenId: s.tokenId,
      start: s.start.toISOString(),
      serverInit: s.serverInit.toString('hex'),
      width: s.serverInit.readUInt16BE(0),
      height: s.serverInit.readUInt16BE(2),
    };
    store.open.add(id);
    metrics?.recordings.inc();
    log.info({ event: 'recording-start', id, node: s.node, session: s.session }, 'recording session');
    return new FileRecorder(id, s, header, createWriteStream(path, { fd }), hmac, log, {
      onBytes: (n) => metrics?.bytes.inc(n),
      onClosed: () => {
        store.open.delete(id);
        return schedulePrune();
      },
    });
  };
  return Object.assign(factory, { store, key, idle: () => chain });
}

/** The id's session part: the session id's first 8 hex digits (a UUID's), else a hash of it. */
function sessionPart(session: string): string {
  return /^[0-9a-f]{8}/.test(session)
    ? session.slice(0, 8)
    : createHash('sha256').update(session).digest('hex').slice(0, 8);
}

class FileRecorder implements FileSessionRecorder {
  /** performance.now() at the header's start: times are monotonic, not wall clock. */
  private readonly base: number;
  private bytes = 0;
  private failed = false;
  private consoleStopped = false;
  private viewerGap = false;
  private closing: Promise<void> | undefined;

  constructor(
    readonly id: string,
    private readonly session: RecordedSession,
    header: RecordingHeader,
    private readonly stream: WriteStream,
    private readonly hmac: Hmac,
    private readonly log: Logger,
    private readonly hooks: { onBytes: (n: number) => void; onClosed: () => Promise<void> },
  ) {
    this.base = performance.now() - Math.max(0, Date.now() - session.start.getTime());
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (this.failed) return;
      this.failed = true;
      this.log.warn({ event: 'recording-failed', id, err: err.code ?? err.message }, 'recording stopped: write failed');
    });
    this.write(encodeHeader(header));
  }

  consoleBytes(b: Buffer): void {
    if (this.closing || this.failed || this.consoleStopped || b.length === 0) return;
    if (this.stream.writableLength > MAX_PENDING_CONSOLE_BYTES) {
      // Dropping part of the stream would garble every later frame: stop the console side for good.
      this.consoleStopped = true;
      this.gap('the disk fell behind: console output is not recorded from here on');
      return;
    }
    this.write(encodeRecord(RecordKind.console, this.at(), b));
  }

  viewerMessage(b: Buffer, dropped: boolean): void {
    if (this.closing || this.failed) return;
    if (this.stream.writableLength > MAX_PENDING_BYTES) {
      if (!this.viewerGap) this.gap('the disk fell behind: viewer messages are missing from here on');
      this.viewerGap = true;
      return;
    }
    this.write(encodeRecord(dropped ? RecordKind.dropped : RecordKind.viewer, this.at(), b));
  }

  event(e: RecordingEvent): void {
    if (this.closing || this.failed) return;
    this.write(encodeRecord(RecordKind.event, this.at(), Buffer.from(JSON.stringify(e), 'utf8')));
  }

  close(): Promise<void> {
    this.closing ??= this.finish();
    return this.closing;
  }

  private async finish(): Promise<void> {
    if (!this.failed) {
      // The HMAC covers every byte before it, the end record's head (kind, the session's length) included.
      const head = encodeRecord(RecordKind.end, this.at(), Buffer.alloc(HMAC_BYTES)).subarray(0, RECORD_HEAD_BYTES);
      this.hmac.update(head);
      const end = Buffer.concat([head, this.hmac.digest()]);
      this.stream.write(end);
      this.bytes += end.length;
      this.hooks.onBytes(end.length);
    }
    this.stream.end();
    // Also settles at once for a stream that already failed (its error was logged).
    await finished(this.stream).catch(() => {});
    this.log.info(
      { event: 'recording-end', id: this.id, bytes: this.bytes, complete: !this.failed },
      'recording closed',
    );
    await this.hooks.onClosed();
  }

  private gap(detail: string): void {
    this.log.warn({ event: 'recording-gap', id: this.id, pendingBytes: this.stream.writableLength }, detail);
    const e: RecordingEvent = { event: 'gap', session: this.session.session, user: this.session.user, detail };
    this.write(encodeRecord(RecordKind.event, this.at(), Buffer.from(JSON.stringify(e), 'utf8')));
  }

  private write(buf: Buffer): void {
    this.hmac.update(buf);
    this.stream.write(buf);
    this.bytes += buf.length;
    this.hooks.onBytes(buf.length);
  }

  private at(): number {
    return Math.min(0xffffffff, Math.max(0, Math.floor(performance.now() - this.base)));
  }
}
