/**
 * `bmc-console-proxy recordings list|show|prune`: the operator's view of the recordings directory, reading the same
 * config file and flags as the proxy. Exit codes: 0 ok, 1 usage or configuration, 3 a recording failed verification.
 */
import { existsSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { RECORDING_ID_RE } from '@bmc-console/common/contracts/recording';
import type { ProxyConfig } from '../config.js';
import type { RecordingError } from './recording-format.js';
import { loadRecordingKey } from './recording-key.js';
import { inputEvents, inspectRecording, sessionEvents, type InputEvent } from './recording-reader.js';
import { listRecordings, pruneRecordings, recordingPath, type RecordingInfo } from './recording-store.js';

/** The proxy's own flags these commands honour (cli.ts maps them onto the config like the main command). */
export interface RecordingsFlags {
  config?: string;
  recordingsDir?: string;
  recordingsKeyFile?: string;
  recordingsMaxBytes?: string;
  recordingsMaxAgeDays?: number;
}

export interface RecordingsIo {
  out: (s: string) => void;
  err: (s: string) => void;
  now?: () => Date;
}

const EXIT = { ok: 0, usage: 1, unverified: 3 } as const;
/** A recording without an end record that started less than the longest session (plus a minute) ago may still be written. */
const OPEN_MARGIN_MS = 60_000;

/** Usage problems the user can fix: printed as one line, exit 1. */
class UsageError extends Error {}

function positive(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number, got "${v}"`);
    return n;
  };
}

export async function recordingsMain(
  argv: string[],
  loadConfig: (flags: RecordingsFlags) => ProxyConfig,
  io: RecordingsIo = {
    out: (s) => void process.stdout.write(s),
    err: (s) => void process.stderr.write(s),
  },
): Promise<number> {
  const now = io.now ?? (() => new Date());
  let code: number = EXIT.ok;
  const config = (flags: RecordingsFlags): ProxyConfig => {
    try {
      return loadConfig(flags);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  };
  const common = (cmd: Command) =>
    cmd
      .option('--config <file>', 'the proxy config file (YAML or JSON)')
      .option('--recordings-dir <dir>', 'recordings directory (default: recordings.dir of the config)')
      .option('--recordings-key-file <file>', 'recording key (default: recordings.keyFile of the config)');

  const program = new Command('bmc-console-proxy recordings')
    .description('List, verify and prune session recordings')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err });

  common(program.command('list').description('recordings in the directory, oldest first'))
    .option('--node <node>', 'only this node')
    .option('--json', 'one JSON document')
    .action(async (opts: RecordingsFlags & { node?: string; json?: boolean }) => {
      const c = config(opts);
      const list = await listRecordings(c.recordings.dir, opts.node !== undefined ? { node: opts.node } : {});
      io.out(opts.json ? `${JSON.stringify({ recordings: list }, null, 2)}\n` : listTable(list));
    });

  common(program.command('show').description('a recording: header, verification, input with times and user'))
    .argument('<id>', 'recording id (as `recordings list` shows it)')
    .option('--json', 'one JSON document')
    .action(async (id: string, opts: RecordingsFlags & { json?: boolean }) => {
      const c = config(opts);
      if (!RECORDING_ID_RE.test(id))
        throw new UsageError(`"${id}" is not a recording id (<start>-<node>-<session>, as \`recordings list\` shows)`);
      const path = recordingPath(c.recordings.dir, id) as string;
      if (!existsSync(path)) throw new UsageError(`no recording ${id} in ${c.recordings.dir}`);
      let key: Buffer;
      try {
        key = loadRecordingKey(c.recordings.keyFile, { create: false });
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      const r = inspectRecording(path, key);
      if (!r.verified) code = EXIT.unverified;
      if (!r.header) {
        io.err(`bmc-console-proxy recordings: ${r.problem?.message ?? `${path}: not a recording`}\n`);
        return;
      }
      const rec = { header: r.header, records: r.records };
      const input = inputEvents(rec);
      const events = sessionEvents(r.records);
      if (opts.json) {
        const verification = r.verified
          ? { verified: true }
          : { verified: false, problem: r.problem?.problem, message: r.problem?.detail };
        io.out(
          `${JSON.stringify({ header: r.header, durationMs: r.durationMs, ...verification, events, input }, null, 2)}\n`,
        );
        return;
      }
      io.out(showText(r.header, r.durationMs, r.verified ? undefined : r.problem, events, input));
    });

  common(program.command('prune').description('remove recordings beyond the size and age limits, oldest first'))
    .option('--max-bytes <size>', 'size limit, e.g. 500m or 20g (default: recordings.maxBytes)')
    .option('--max-age-days <days>', 'age limit (default: recordings.maxAgeDays)', positive('--max-age-days'))
    .option('--json', 'one JSON document')
    .action(async (opts: RecordingsFlags & { maxBytes?: string; maxAgeDays?: number; json?: boolean }) => {
      // The limits go through the config schema like the proxy's own flags (its errors name the field).
      const c = config({ ...opts, recordingsMaxBytes: opts.maxBytes, recordingsMaxAgeDays: opts.maxAgeDays });
      const at = now();
      // Another process (the running proxy) may be writing: spare what could still be open.
      const longestMs = c.limits.maxSessionSec * 1000 + OPEN_MARGIN_MS;
      const removed = await pruneRecordings(c.recordings.dir, {
        maxBytes: c.recordings.maxBytes,
        maxAgeDays: c.recordings.maxAgeDays,
        now: at,
        isOpen: (e) => !e.complete && at.getTime() - e.start.getTime() < longestMs,
      });
      if (opts.json) io.out(`${JSON.stringify({ removed })}\n`);
      else
        io.out(
          removed.length === 0
            ? 'nothing to remove\n'
            : `removed ${removed.length}:\n${removed.map((id) => `  ${id}\n`).join('')}`,
        );
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`bmc-console-proxy recordings: ${err.message}\n`);
      return EXIT.usage;
    }
    const exitCode = (err as { exitCode?: number }).exitCode;
    // Commander already printed its usage error (or the help: exit 0).
    if (exitCode !== undefined) return exitCode === 0 ? EXIT.ok : EXIT.usage;
    throw err;
  }
  return code;
}

function listTable(list: RecordingInfo[]): string {
  if (list.length === 0) return 'no recordings\n';
  const rows = [
    ['ID', 'USER', 'ROLE', 'START', 'SIZE', 'STATE'],
    ...list.map((r) => [
      r.id,
      r.user ?? '-',
      r.role ?? '-',
      r.start,
      humanBytes(r.bytes),
      r.problem !== undefined ? 'unreadable' : r.complete ? 'complete' : 'incomplete',
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => (row[i] as string).length)));
  return rows
    .map(
      (row) =>
        `${row
          .map((c, i) => c.padEnd(widths[i] as number))
          .join('  ')
          .trimEnd()}\n`,
    )
    .join('');
}

function showText(
  h: NonNullable<ReturnType<typeof inspectRecording>['header']>,
  durationMs: number,
  problem: RecordingError | undefined,
  events: Array<{ atMs: number } & Record<string, unknown>>,
  input: InputEvent[],
): string {
  const init = Buffer.from(h.serverInit, 'hex');
  const nameLen = init.length >= 24 ? init.readUInt32BE(20) : 0;
  const desktop = init.length >= 24 + nameLen ? init.subarray(24, 24 + nameLen).toString('utf8') : '';
  const lines = [
    `recording ${h.id}`,
    `  node      ${h.node}`,
    `  user      ${h.user ?? '(no name)'} (${h.role}${h.readOnly ? ', read-only console' : ''})`,
    `  session   ${h.session}`,
    `  source    ${h.source}`,
    `  token id  ${h.tokenId}`,
    `  start     ${h.start}`,
    `  duration  ${(durationMs / 1000).toFixed(3)} s`,
    `  screen    ${h.width}x${h.height}${desktop ? ` "${desktop}"` : ''}`,
    `  verified  ${problem ? `NO: ${problem.detail}` : 'yes (HMAC matches)'}`,
    `events (${events.length}):`,
    ...events.map((e) => {
      const { atMs, event, user, to, detail } = e as {
        atMs: number;
        event?: unknown;
        user?: unknown;
        to?: unknown;
        detail?: unknown;
      };
      const who = typeof user === 'string' ? ` ${user}` : '';
      return `  ${time(atMs)}  ${String(event)}${who}${typeof to === 'string' ? ` -> ${to}` : ''}${typeof detail === 'string' ? `: ${detail}` : ''}`;
    }),
    `input (${input.length}):`,
    ...input.map(
      (e) => `  ${time(e.atMs)}  ${e.user ?? '(no name)'}  ${describeInput(e)}${e.dropped ? '  [dropped]' : ''}`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}

function describeInput(e: InputEvent): string {
  if (e.type === 'key') return `key ${e.down ? 'down' : 'up  '} ${e.key}`;
  if (e.type === 'pointer') return `pointer buttons=${e.buttons} x=${e.x} y=${e.y}`;
  return `clipboard ${e.length} bytes`;
}

function time(ms: number): string {
  return `+${(ms / 1000).toFixed(3)}s`;
}

function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}
