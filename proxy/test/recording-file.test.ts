// The recording file: written by the factory, read back verified; truncated, altered and foreign files refused.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RECORDING_ID_RE, RECORDING_MAGIC } from '@bmc-console/common/contracts/recording';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parseProxyConfig } from '../src/config.js';
import {
  inputEvents,
  readRecording,
  RecordingError,
  sessionEvents,
  verifyRecordingFile,
} from '../src/recording/recording-reader.js';
import { createRecorderFactory } from '../src/recording/recording-writer.js';
import {
  cutText,
  keyEvent,
  newFactory,
  pointerEvent,
  quiet,
  record,
  recordingsConfig,
  session,
} from './recording-fixtures.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function problemOf(f: () => unknown): RecordingError {
  try {
    f();
  } catch (e) {
    if (e instanceof RecordingError) return e;
    throw e;
  }
  throw new Error('expected a RecordingError');
}

describe('recording config', () => {
  it('has defaults, takes size strings, and re-parses its own output unchanged', () => {
    const c = parseProxyConfig({});
    expect(c.recordings).toEqual({
      dir: '/var/lib/bmc-console-proxy/recordings',
      maxBytes: 20 * 1024 ** 3,
      maxAgeDays: 90,
      keyFile: '/var/lib/bmc-console-proxy/recording.key',
      replayRoles: ['control'],
    });
    expect(parseProxyConfig(c).recordings).toEqual(c.recordings);
    expect(parseProxyConfig({ recordings: { dir: '/r/x', maxBytes: '500m' } }).recordings).toMatchObject({
      maxBytes: 500 * 1024 ** 2,
      keyFile: '/r/recording.key',
    });
    expect(() => parseProxyConfig({ recordings: { maxBytes: '20 parsecs' } })).toThrow(
      /recordings\.maxBytes: expected a size/,
    );
    expect(() => parseProxyConfig({ recordings: { maxAgeDays: 0 } })).toThrow(/recordings\.maxAgeDays/);
    expect(() => parseProxyConfig({ recordings: { dirr: '/x' } })).toThrow(/recordings: Unrecognized key: "dirr"/);
  });
});

describe('recording writer and reader', () => {
  it('writes a recording the reader gets back: header, records in order, times, copies of pooled buffers', async () => {
    const registry = new Registry();
    const config = recordingsConfig();
    const factory = createRecorderFactory(config, quiet, registry);
    const s = session({ user: 'alice', role: 'control' });
    const r = factory(s);
    expect(r.id).toMatch(RECORDING_ID_RE);
    expect(r.id).toContain(`-node-1-${s.session.slice(0, 8)}`);
    const pooled = Buffer.from('first frame');
    r.consoleBytes(pooled);
    pooled.fill(0); // the session reuses its read buffers: the recording must have copied it
    r.event({ event: 'joined', session: s.session, user: 'alice' });
    await sleep(60);
    r.viewerMessage(keyEvent(true, 0x61), false);
    r.viewerMessage(keyEvent(false, 0x61), false);
    r.viewerMessage(pointerEvent(1, 300, 200), false);
    r.viewerMessage(Buffer.concat([keyEvent(true, 0xffe1), keyEvent(true, 0xff0d)]), true);
    r.viewerMessage(cutText('secret clipboard'), false);
    await sleep(30);
    r.consoleBytes(Buffer.from('second frame'));
    await r.close();
    await r.close(); // idempotent

    const path = join(config.dir, `${r.id}.bmcrec`);
    const bytes = readFileSync(path);
    expect(bytes.subarray(0, 8).toString('latin1')).toBe(RECORDING_MAGIC);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(config.dir).mode & 0o777).toBe(0o700);
    expect(statSync(config.keyFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(config.keyFile)).toHaveLength(32);

    const rec = readRecording(bytes, factory.key());
    expect(rec.header).toMatchObject({
      version: 1,
      id: r.id,
      session: s.session,
      node: 'node-1',
      user: 'alice',
      role: 'control',
      readOnly: false,
      source: '192.0.2.7',
      tokenId: 'abcdef012345',
      start: s.start.toISOString(),
      serverInit: s.serverInit.toString('hex'),
      width: 1024,
      height: 768,
    });
    expect(rec.records.map((x) => x.kind)).toEqual([
      'console',
      'event',
      'viewer',
      'viewer',
      'viewer',
      'dropped',
      'viewer',
      'console',
    ]);
    expect(rec.records[0]?.payload.toString()).toBe('first frame');
    expect(rec.records.at(-1)?.payload.toString()).toBe('second frame');
    const times = rec.records.map((x) => x.atMs);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(times[0]).toBeLessThan(50);
    expect(times[2]).toBeGreaterThanOrEqual(50);
    expect(rec.durationMs).toBeGreaterThanOrEqual(times.at(-1) as number);
    expect(rec.durationMs).toBeLessThan(5000);
    expect(sessionEvents(rec.records)).toEqual([expect.objectContaining({ event: 'joined', user: 'alice' })]);
    expect(await verifyRecordingFile(path, factory.key())).toEqual(rec.header);

    const input = inputEvents(rec).map(({ atMs, ...e }) => e);
    expect(input).toEqual([
      { user: 'alice', dropped: false, type: 'key', down: true, keysym: 0x61, key: 'a' },
      { user: 'alice', dropped: false, type: 'key', down: false, keysym: 0x61, key: 'a' },
      { user: 'alice', dropped: false, type: 'pointer', buttons: 1, x: 300, y: 200 },
      { user: 'alice', dropped: true, type: 'key', down: true, keysym: 0xffe1, key: 'Shift_L' },
      { user: 'alice', dropped: true, type: 'key', down: true, keysym: 0xff0d, key: 'Return' },
      { user: 'alice', dropped: false, type: 'cut-text', length: 16 },
    ]);

    const metrics = await registry.metrics();
    expect(metrics).toMatch(/^bmc_proxy_recordings_total 1$/m);
    expect(metrics).toMatch(new RegExp(`^bmc_proxy_recording_bytes_total ${bytes.length}$`, 'm'));
    expect(metrics).toMatch(/^bmc_proxy_recordings_pruned_total 0$/m);
  });

  it('refuses a truncated recording with a message naming the file and what happened', async () => {
    const { config, factory } = newFactory();
    const id = await record(factory, session(), (r) => {
      r.consoleBytes(Buffer.alloc(1000, 7));
      r.viewerMessage(keyEvent(true, 0x62), false);
    });
    const path = join(config.dir, `${id}.bmcrec`);
    const bytes = readFileSync(path);
    for (const cut of [bytes.length - 41, bytes.length - 5, 500]) {
      const e = problemOf(() => readRecording(bytes.subarray(0, cut), factory.key(), `${id}.bmcrec`));
      expect(e.problem).toBe('truncated');
      expect(e.message).toBe(
        `${id}.bmcrec: cut short after ${cut} bytes: the proxy stopped while recording, or the file was copied before it ended`,
      );
    }
    writeFileSync(path, bytes.subarray(0, bytes.length - 41));
    await expect(verifyRecordingFile(path, factory.key())).rejects.toThrow(`${path}: cut short after`);
    expect(problemOf(() => readRecording(path, factory.key())).message).toMatch(new RegExp(`^${path}: cut short`));
  });

  it('refuses a recording with one byte flipped anywhere, or signed with another key', async () => {
    const { factory } = newFactory();
    const other = newFactory().factory;
    const bytes = readFileSync(
      join(
        factory.store.dir,
        `${await record(factory, session(), (r) => r.consoleBytes(Buffer.from('console text')))}.bmcrec`,
      ),
    );
    expect(readRecording(bytes, factory.key()).records).toHaveLength(1);
    const headerEnd = 12 + bytes.readUInt32BE(8);
    // In a console payload, in a record's time, in the HMAC itself.
    for (const at of [headerEnd + 9 + 3, headerEnd + 2, bytes.length - 1]) {
      const altered = Buffer.from(bytes);
      altered[at] = (altered[at] as number) ^ 0x01;
      const e = problemOf(() => readRecording(altered, factory.key(), 'x.bmcrec'));
      expect(e.problem).toBe('altered');
      expect(e.message).toMatch(/^x\.bmcrec: altered: .*changed after it was written/);
    }
    expect(problemOf(() => readRecording(bytes, other.key())).problem).toBe('altered');
    expect(problemOf(() => readRecording(Buffer.concat([bytes, Buffer.from('x')]), factory.key())).problem).toBe(
      'altered',
    );
  });

  it('never verifies a recording with any single byte changed, nor any prefix of one', async () => {
    const { factory } = newFactory();
    const id = await record(factory, session(), (r) => {
      r.consoleBytes(Buffer.from('abc'));
      r.viewerMessage(keyEvent(true, 0x61), false);
      r.event({ event: 'left', session: 's', user: null });
    });
    const bytes = readFileSync(join(factory.store.dir, `${id}.bmcrec`));
    const problems = new Set<string>();
    // The contract's HMAC covers every byte before the end record: the end record's own time (4 bytes) is the one
    // field it does not protect.
    const endTime = new Set([1, 2, 3, 4].map((k) => bytes.length - 41 + k));
    for (let i = 0; i < bytes.length; i++) {
      if (endTime.has(i)) continue;
      const altered = Buffer.from(bytes);
      altered[i] = (altered[i] as number) ^ 0x20;
      problems.add(problemOf(() => readRecording(altered, factory.key())).problem);
    }
    expect([...problems].sort()).toEqual(['altered', 'header-invalid', 'not-a-recording', 'truncated']);
    for (let n = 0; n < bytes.length; n++)
      expect(problemOf(() => readRecording(bytes.subarray(0, n), factory.key())).problem).toBe('truncated');
  });

  it('refuses a file that is not a recording, and names the header field that is wrong', async () => {
    const { factory } = newFactory();
    expect(problemOf(() => readRecording(Buffer.from('GIF89a.....'), factory.key(), 'cat.gif')).message).toBe(
      'cat.gif: not a recording: it does not start with "BMCREC1"',
    );
    const header = Buffer.from(JSON.stringify({ version: 1, id: 'x' }));
    const len = Buffer.alloc(4);
    len.writeUInt32BE(header.length);
    const e = problemOf(() =>
      readRecording(Buffer.concat([Buffer.from(RECORDING_MAGIC), len, header]), factory.key(), 'h.bmcrec'),
    );
    expect(e.problem).toBe('header-invalid');
    expect(e.message).toMatch(/^h\.bmcrec: header invalid: session: .*; node: /);
  });

  it('stops recording console bytes once the disk falls 16 MiB behind, notes the gap, keeps viewer input', async () => {
    const { config, factory } = newFactory();
    const s = session();
    const r = factory(s);
    const chunk = Buffer.alloc(1024 * 1024, 1);
    // A synchronous burst: the write stream cannot drain in between, as with a disk that does not keep up.
    for (let i = 0; i < 24; i++) r.consoleBytes(chunk);
    r.viewerMessage(keyEvent(true, 0x71), false);
    await r.close();
    const rec = readRecording(join(config.dir, `${r.id}.bmcrec`), factory.key());
    const consoleRecords = rec.records.filter((x) => x.kind === 'console');
    expect(consoleRecords.length).toBeGreaterThanOrEqual(16);
    expect(consoleRecords.length).toBeLessThan(24);
    expect(sessionEvents(rec.records)).toEqual([
      expect.objectContaining({ event: 'gap', session: s.session, detail: expect.stringMatching(/disk fell behind/) }),
    ]);
    expect(inputEvents(rec)).toEqual([expect.objectContaining({ key: 'q', down: true })]);
  });

  it('touches the disk only when it first records, keeps an existing key, and names the option that is wrong', async () => {
    const { config, factory } = newFactory();
    expect(existsSync(config.dir)).toBe(false);
    expect(existsSync(config.keyFile)).toBe(false);
    expect(() => factory(session({ serverInit: Buffer.from([1, 2]) }))).toThrow(/ServerInit/);
    const key = factory.key();
    expect(existsSync(config.dir)).toBe(true);
    expect(createRecorderFactory(config, quiet).key().equals(key)).toBe(true);
    writeFileSync(config.keyFile, 'short');
    const broken = createRecorderFactory(config, quiet);
    expect(() => broken(session())).toThrow(
      `recordings.keyFile: ${config.keyFile} holds 5 bytes, not a 32-byte recording key`,
    );
    // A directory under a file cannot be made.
    const under = join(config.keyFile, 'recordings');
    const unwritable = createRecorderFactory({ ...config, dir: under }, quiet);
    expect(() => unwritable(session())).toThrow(`recordings.dir: cannot create ${under} (ENOTDIR)`);
  });
});
