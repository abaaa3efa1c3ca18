/**
 * The recordings directory: what is in it (list) and keeping it under the size and age limits (prune). Files whose
 * name is not `<recording id>.bmcrec` are neither listed nor ever removed.
 */
import { open, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { RECORDING_EXTENSION, RECORDING_ID_RE } from '@bmc-console/common/contracts/recording';
import type { ViewerRole } from '@bmc-console/common/contracts/agent-api';
import { END_RECORD_BYTES, endsLikeEndRecord, parseRecordingId, RecordingParser } from './recording-format.js';
import type { RecordingMetrics } from './recording-metrics.js';

export interface RecordingInfo {
  id: string;
  node: string;
  /** From the header; null when the header could not be read (then `problem` says why). */
  user: string | null;
  role: ViewerRole | null;
  start: string;
  bytes: number;
  /** The file ends in an end record (not verified: fetching or `recordings show` checks the HMAC). */
  complete: boolean;
  /** This proxy is still writing it. */
  recording: boolean;
  problem?: string;
}

export interface PruneLimits {
  maxBytes: number;
  maxAgeDays: number;
  now?: Date;
  /** Recordings that must stay (still being written). */
  isOpen?: (entry: { id: string; start: Date; complete: boolean }) => boolean;
}

interface Entry {
  id: string;
  path: string;
  start: Date;
  node: string;
  bytes: number;
  complete: boolean;
}

const DAY_MS = 24 * 3600 * 1000;

/** The recording file of an id, or undefined for a string that is not a recording id (no path tricks). */
export function recordingPath(dir: string, id: string): string | undefined {
  return RECORDING_ID_RE.test(id) ? join(dir, `${id}${RECORDING_EXTENSION}`) : undefined;
}

/** The recordings in dir, oldest first; a missing dir has none. */
export async function listRecordings(dir: string, opts: { node?: string } = {}): Promise<RecordingInfo[]> {
  const out: RecordingInfo[] = [];
  for (const e of await scan(dir)) {
    if (opts.node !== undefined && e.node !== opts.node) continue;
    const head = await readHeader(e.path);
    out.push({
      id: e.id,
      node: head.header?.node ?? e.node,
      user: head.header?.user ?? null,
      role: head.header?.role ?? null,
      start: head.header?.start ?? e.start.toISOString(),
      bytes: e.bytes,
      complete: e.complete,
      recording: false,
      ...(head.problem !== undefined ? { problem: head.problem } : {}),
    });
  }
  return out;
}

/**
 * Removes recordings older than maxAgeDays, then the oldest until all together (open ones included) fit in
 * maxBytes; never one that isOpen says is still being written. Returns the removed ids, oldest first.
 */
export async function pruneRecordings(dir: string, limits: PruneLimits): Promise<string[]> {
  const now = (limits.now ?? new Date()).getTime();
  const entries = await scan(dir);
  let total = entries.reduce((n, e) => n + e.bytes, 0);
  const removed: string[] = [];
  for (const e of entries) {
    const tooOld = now - e.start.getTime() > limits.maxAgeDays * DAY_MS;
    if (!tooOld && total <= limits.maxBytes) continue;
    if (limits.isOpen?.(e)) continue;
    try {
      await unlink(e.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    total -= e.bytes;
    removed.push(e.id);
  }
  return removed;
}

/** The directory as this proxy sees it: the ids it is writing are marked and never pruned. */
export class RecordingStore {
  readonly open = new Set<string>();

  constructor(
    readonly dir: string,
    private readonly metrics?: RecordingMetrics,
  ) {}

  pathOf(id: string): string | undefined {
    return recordingPath(this.dir, id);
  }

  async list(opts: { node?: string } = {}): Promise<RecordingInfo[]> {
    return (await listRecordings(this.dir, opts)).map((r) => ({ ...r, recording: this.open.has(r.id) }));
  }

  async prune(limits: Omit<PruneLimits, 'isOpen'>): Promise<string[]> {
    const removed = await pruneRecordings(this.dir, { ...limits, isOpen: (e) => this.open.has(e.id) });
    this.metrics?.pruned.inc(removed.length);
    return removed;
  }
}

async function scan(dir: string): Promise<Entry[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const entries: Entry[] = [];
  for (const name of names) {
    if (!name.endsWith(RECORDING_EXTENSION)) continue;
    const id = name.slice(0, -RECORDING_EXTENSION.length);
    const parsed = parseRecordingId(id);
    if (!parsed) continue;
    const path = join(dir, name);
    let bytes: number;
    try {
      const s = await stat(path);
      if (!s.isFile()) continue;
      bytes = s.size;
    } catch {
      continue; // removed meanwhile
    }
    entries.push({ id, path, ...parsed, bytes, complete: await endsWithEndRecord(path, bytes) });
  }
  // Ids start with the compact UTC start time, so this is oldest first (ties by node and session).
  return entries.sort((a, b) => a.start.getTime() - b.start.getTime() || (a.id < b.id ? -1 : 1));
}

/** A cheap look at the last 41 bytes: an end record's head (kind 255, length 32). */
async function endsWithEndRecord(path: string, size: number): Promise<boolean> {
  if (size < END_RECORD_BYTES) return false;
  const tail = Buffer.alloc(END_RECORD_BYTES);
  try {
    const fh = await open(path, 'r');
    try {
      await fh.read(tail, 0, END_RECORD_BYTES, size - END_RECORD_BYTES);
    } finally {
      await fh.close();
    }
  } catch {
    return false;
  }
  return endsLikeEndRecord(tail);
}

/** The header alone (the HMAC is not checked: the key is not needed to list). */
async function readHeader(path: string): Promise<{ header?: RecordingParser['result']['header']; problem?: string }> {
  const parser = new RecordingParser(path, Buffer.alloc(32), false);
  try {
    const fh = await open(path, 'r');
    try {
      const start = Buffer.alloc(12);
      const { bytesRead } = await fh.read(start, 0, 12, 0);
      parser.push(start.subarray(0, bytesRead));
      if (bytesRead === 12 && !parser.result.problem) {
        const len = Math.min(start.readUInt32BE(8), 1024 * 1024);
        const json = Buffer.alloc(len);
        const r = await fh.read(json, 0, len, 12);
        parser.push(json.subarray(0, r.bytesRead));
      }
    } finally {
      await fh.close();
    }
  } catch (err) {
    return { problem: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
  const { header, problem } = parser.result;
  if (header) return { header };
  return { problem: problem?.problem === 'header-invalid' ? problem.message : 'not a recording (no valid header)' };
}
