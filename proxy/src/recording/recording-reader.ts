/**
 * Reads recordings back, verified: a whole file (the CLI), a streamed check of a large file (the HTTP routes), and
 * the viewer's input decoded from its records (who typed what, when).
 */
import { readFileSync, createReadStream } from 'node:fs';
import { ClientMessage } from '@bmc-console/common/rfb/constants';
import type { RecordingHeader } from '@bmc-console/common/contracts/recording';
import { RecordingError, RecordingParser, type ParseResult, type RecordingRecord } from './recording-format.js';
import { keysymName } from './keysym-names.js';

export { RecordingError, type RecordingRecord } from './recording-format.js';

export interface Recording {
  header: RecordingHeader;
  records: RecordingRecord[];
  durationMs: number;
}

/** A verified recording from its bytes or its path; throws RecordingError naming the file and the problem. */
export function readRecording(input: Uint8Array | string, key: Buffer, name = 'recording'): Recording {
  const r = inspectRecording(input, key, name);
  if (r.problem || !r.header) throw r.problem ?? new RecordingError(name, 'not-a-recording', 'not a recording');
  return { header: r.header, records: r.records, durationMs: r.durationMs };
}

/**
 * Everything readable in a recording and whether it verified, without throwing for a bad file (`recordings show`
 * prints what a truncated recording holds, marked unverified). Throws only when the file cannot be read at all.
 */
export function inspectRecording(input: Uint8Array | string, key: Buffer, name = 'recording'): ParseResult {
  const file = typeof input === 'string' ? input : name;
  let bytes: Buffer;
  if (typeof input === 'string') {
    try {
      bytes = readFileSync(input);
    } catch (e) {
      throw new RecordingError(file, 'unreadable', `cannot read (${(e as NodeJS.ErrnoException).code ?? e})`);
    }
  } else bytes = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const parser = new RecordingParser(file, key, true);
  parser.push(bytes);
  return parser.finish();
}

/** Checks a recording file as a stream (it may be gigabytes); returns its header or throws RecordingError. */
export async function verifyRecordingFile(path: string, key: Buffer): Promise<RecordingHeader> {
  const parser = new RecordingParser(path, key, false);
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
      parser.push(chunk as Buffer);
      if (parser.result.problem) break;
    }
  } catch (e) {
    throw new RecordingError(path, 'unreadable', `cannot read (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  const r = parser.finish();
  if (r.problem || !r.header) throw r.problem ?? new RecordingError(path, 'not-a-recording', 'not a recording');
  return r.header;
}

interface InputBase {
  atMs: number;
  /** The header's user: who held the link. */
  user: string | null;
  /** The proxy did not forward it (view-only link, read-only console, not the holder of control). */
  dropped: boolean;
}
export type InputEvent = InputBase &
  (
    | { type: 'key'; down: boolean; keysym: number; key: string }
    | { type: 'pointer'; buttons: number; x: number; y: number }
    | { type: 'cut-text'; length: number }
  );

/** Fixed sizes of the client messages that are not input (skipped); SetEncodings and cut text have a length. */
const FIXED_SIZE: Record<number, number> = {
  [ClientMessage.SetPixelFormat]: 20,
  [ClientMessage.FramebufferUpdateRequest]: 10,
  [ClientMessage.KeyEvent]: 8,
  [ClientMessage.PointerEvent]: 6,
};

/** Keys, pointer and clipboard from the viewer/dropped records (each holds whole RFB client messages). */
export function inputEvents(rec: { header: RecordingHeader; records: RecordingRecord[] }): InputEvent[] {
  const out: InputEvent[] = [];
  for (const r of rec.records) {
    if (r.kind !== 'viewer' && r.kind !== 'dropped') continue;
    const base: InputBase = { atMs: r.atMs, user: rec.header.user, dropped: r.kind === 'dropped' };
    const p = r.payload;
    let off = 0;
    while (off < p.length) {
      const type = p[off] as number;
      let size = FIXED_SIZE[type];
      if (type === ClientMessage.SetEncodings && off + 4 <= p.length) size = 4 + 4 * p.readUInt16BE(off + 2);
      // A negative length is the extended clipboard's (its size is the absolute value).
      const cutLength =
        type === ClientMessage.ClientCutText && off + 8 <= p.length ? Math.abs(p.readInt32BE(off + 4)) : 0;
      if (type === ClientMessage.ClientCutText && off + 8 <= p.length) size = 8 + cutLength;
      if (size === undefined || off + size > p.length) break; // not a message we know: the rest is unreadable
      if (type === ClientMessage.KeyEvent) {
        const keysym = p.readUInt32BE(off + 4);
        out.push({ ...base, type: 'key', down: p[off + 1] !== 0, keysym, key: keysymName(keysym) });
      } else if (type === ClientMessage.PointerEvent) {
        out.push({
          ...base,
          type: 'pointer',
          buttons: p[off + 1] as number,
          x: p.readUInt16BE(off + 2),
          y: p.readUInt16BE(off + 4),
        });
      } else if (type === ClientMessage.ClientCutText) out.push({ ...base, type: 'cut-text', length: cutLength });
      off += size;
    }
  }
  return out;
}

/** The JSON event records (joined, left, control handed over, gaps), as written. */
export function sessionEvents(records: RecordingRecord[]): Array<{ atMs: number } & Record<string, unknown>> {
  const out: Array<{ atMs: number } & Record<string, unknown>> = [];
  for (const r of records) {
    if (r.kind !== 'event') continue;
    try {
      const e: unknown = JSON.parse(r.payload.toString('utf8'));
      if (e !== null && typeof e === 'object' && !Array.isArray(e)) out.push({ atMs: r.atMs, ...(e as object) });
    } catch {
      out.push({ atMs: r.atMs, event: 'unreadable' });
    }
  }
  return out;
}
