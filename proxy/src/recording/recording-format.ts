/**
 * The byte layout of a recording (common/src/contracts/recording.ts) in one place: record framing for the writer,
 * an incremental parser for the readers, and the id's parts.
 */
import { createHmac, timingSafeEqual, type Hmac } from 'node:crypto';
import {
  RECORDING_ID_RE,
  RECORDING_MAGIC,
  RecordKind,
  recordingHeaderSchema,
  type RecordingHeader,
} from '@bmc-console/common/contracts/recording';

const MAGIC = Buffer.from(RECORDING_MAGIC, 'latin1');
/** u8 kind, u32 ms, u32 length. */
export const RECORD_HEAD_BYTES = 9;
export const HMAC_BYTES = 32;
/** The end record as a whole: its head and the HMAC. */
export const END_RECORD_BYTES = RECORD_HEAD_BYTES + HMAC_BYTES;
/** Larger headers or records than these are not ours (the writer's records are relay chunks and whole messages). */
const MAX_HEADER_BYTES = 1024 * 1024;
const MAX_RECORD_BYTES = 64 * 1024 * 1024;

type RecordKindName = 'console' | 'viewer' | 'dropped' | 'event';
const KIND_NAMES = new Map<number, RecordKindName>([
  [RecordKind.console, 'console'],
  [RecordKind.viewer, 'viewer'],
  [RecordKind.dropped, 'dropped'],
  [RecordKind.event, 'event'],
]);

export interface RecordingRecord {
  kind: RecordKindName;
  atMs: number;
  payload: Buffer;
}

export type RecordingProblem = 'unreadable' | 'not-a-recording' | 'header-invalid' | 'truncated' | 'altered';

/** Why a file is not a verified recording; the message names the file and the problem. */
export class RecordingError extends Error {
  override name = 'RecordingError';
  constructor(
    readonly file: string,
    readonly problem: RecordingProblem,
    /** The problem without the file name (for answers that must not show the server's paths). */
    readonly detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}

/** One record's bytes (head and payload) in a fresh buffer: the caller's buffer may be reused once we return. */
export function encodeRecord(kind: number, atMs: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(RECORD_HEAD_BYTES + payload.length);
  out.writeUInt8(kind, 0);
  out.writeUInt32BE(atMs, 1);
  out.writeUInt32BE(payload.length, 5);
  payload.copy(out, RECORD_HEAD_BYTES);
  return out;
}

/** Magic and length-prefixed header JSON. */
export function encodeHeader(header: RecordingHeader): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.allocUnsafe(4);
  len.writeUInt32BE(json.length, 0);
  return Buffer.concat([MAGIC, len, json]);
}

/** `20261206T163908Z`: the id's start time (UTC, to the second). */
export function compactUtc(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}

/** The start time and node a recording id names, or undefined for a name that is not an id. */
export function parseRecordingId(id: string): { start: Date; node: string } | undefined {
  if (!RECORDING_ID_RE.test(id)) return undefined;
  const t = id.slice(0, 16);
  const start = new Date(
    `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)}T${t.slice(9, 11)}:${t.slice(11, 13)}:${t.slice(13, 15)}Z`,
  );
  if (Number.isNaN(start.getTime())) return undefined;
  return { start, node: id.slice(17, -9) };
}

export interface ParseResult {
  header: RecordingHeader | undefined;
  /** Records seen so far (only when the parser keeps them). */
  records: RecordingRecord[];
  /** Time of the last record (the end record's time once complete). */
  durationMs: number;
  /** Whether the end record was found and its HMAC matched. */
  verified: boolean;
  /** Why the file is not a verified recording (undefined when verified). */
  problem: RecordingError | undefined;
}

/**
 * Parses a recording fed in chunks (a whole buffer or a file stream), hashing as it goes. After a problem it
 * ignores further input; `finish()` reports the file as truncated when the end record never came.
 */
export class RecordingParser {
  private readonly hmac: Hmac;
  private pending: Buffer = Buffer.alloc(0);
  private stage: 'magic' | 'header' | 'records' | 'done' = 'magic';
  private offset = 0;
  private unknownKind: { kind: number; at: number } | undefined;
  readonly result: ParseResult = {
    header: undefined,
    records: [],
    durationMs: 0,
    verified: false,
    problem: undefined,
  };

  constructor(
    private readonly file: string,
    key: Buffer,
    private readonly keepRecords: boolean,
  ) {
    this.hmac = createHmac('sha256', key);
  }

  push(chunk: Buffer): void {
    if (this.result.problem) return;
    if (this.stage === 'done') {
      if (chunk.length > 0)
        this.fail('altered', 'bytes follow the end record: the file was changed after it was written');
      return;
    }
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    // step() answers false once it needs more bytes, found the end, or failed.
    while (this.step()) {}
  }

  finish(): ParseResult {
    if (!this.result.problem && this.stage !== 'done') {
      const total = this.offset + this.pending.length;
      if (this.stage === 'records' && endsLikeEndRecord(this.pending))
        // The file ends as the writer ends it, yet a record runs past it: a length was changed.
        this.fail('altered', 'altered: its records do not add up, it was changed after it was written');
      else
        this.fail(
          'truncated',
          `cut short after ${total} bytes: the proxy stopped while recording, or the file was copied before it ended`,
        );
    }
    return this.result;
  }

  /** Consumes one unit (magic, header, a record) if it is complete; false when more bytes are needed. */
  private step(): boolean {
    const p = this.pending;
    if (this.stage === 'magic') {
      const n = Math.min(p.length, MAGIC.length);
      if (!p.subarray(0, n).equals(MAGIC.subarray(0, n)))
        return this.fail('not-a-recording', `not a recording: it does not start with "BMCREC1"`);
      if (p.length < MAGIC.length) return false;
      this.consume(MAGIC.length, true);
      this.stage = 'header';
      return true;
    }
    if (this.stage === 'header') {
      if (p.length < 4) return false;
      const len = p.readUInt32BE(0);
      if (len > MAX_HEADER_BYTES) return this.fail('header-invalid', `header invalid: its length ${len} is too large`);
      if (p.length < 4 + len) return false;
      const text = p.subarray(4, 4 + len).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        return this.fail('header-invalid', 'header invalid: not JSON');
      }
      const r = recordingHeaderSchema.safeParse(json);
      if (!r.success) {
        const fields = r.error.issues.map((i) => `${i.path.join('.') || 'header'}: ${i.message}`).join('; ');
        return this.fail('header-invalid', `header invalid: ${fields}`);
      }
      this.result.header = r.data;
      this.consume(4 + len, true);
      this.stage = 'records';
      return true;
    }
    if (p.length < RECORD_HEAD_BYTES) return false;
    const kind = p.readUInt8(0);
    const atMs = p.readUInt32BE(1);
    const len = p.readUInt32BE(5);
    if (kind === RecordKind.end) {
      if (len !== HMAC_BYTES)
        return this.fail('altered', `end record at byte ${this.offset} has length ${len}, not ${HMAC_BYTES}`);
      if (p.length < END_RECORD_BYTES) return false;
      this.hmac.update(p.subarray(0, RECORD_HEAD_BYTES));
      const expected = this.hmac.digest();
      const ok = timingSafeEqual(expected, p.subarray(RECORD_HEAD_BYTES, END_RECORD_BYTES));
      this.result.durationMs = atMs;
      this.consume(END_RECORD_BYTES, false);
      this.stage = 'done';
      if (!ok)
        return this.fail(
          'altered',
          'altered: its HMAC does not match, it was changed after it was written (or signed with another key)',
        );
      if (this.pending.length > 0)
        return this.fail('altered', 'bytes follow the end record: the file was changed after it was written');
      if (this.unknownKind)
        return this.fail(
          'header-invalid',
          `record of unknown kind ${this.unknownKind.kind} at byte ${this.unknownKind.at} (written by a newer proxy?)`,
        );
      this.result.verified = true;
      return false;
    }
    if (len > MAX_RECORD_BYTES)
      return this.fail('altered', `record at byte ${this.offset} claims ${len} bytes: the file is damaged`);
    if (p.length < RECORD_HEAD_BYTES + len) return false;
    const name = KIND_NAMES.get(kind);
    if (name === undefined) this.unknownKind ??= { kind, at: this.offset };
    else if (this.keepRecords)
      // A copy: `pending` may be a slice of a larger buffer that later chunks are concatenated onto.
      this.result.records.push({
        kind: name,
        atMs,
        payload: Buffer.from(p.subarray(RECORD_HEAD_BYTES, RECORD_HEAD_BYTES + len)),
      });
    this.result.durationMs = Math.max(this.result.durationMs, atMs);
    this.consume(RECORD_HEAD_BYTES + len, true);
    return true;
  }

  private consume(n: number, hash: boolean): void {
    if (hash) this.hmac.update(this.pending.subarray(0, n));
    this.pending = this.pending.subarray(n);
    this.offset += n;
  }

  private fail(problem: RecordingProblem, message: string): false {
    this.result.problem ??= new RecordingError(this.file, problem, message);
    this.result.verified = false;
    return false;
  }
}

/** Whether bytes end in what looks like an end record's head and HMAC (kind 255, length 32). */
export function endsLikeEndRecord(b: Buffer): boolean {
  if (b.length < END_RECORD_BYTES) return false;
  const at = b.length - END_RECORD_BYTES;
  return b.readUInt8(at) === RecordKind.end && b.readUInt32BE(at + 5) === HMAC_BYTES;
}
