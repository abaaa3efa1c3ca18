// Shared by the recording*.test.ts files: sessions, RFB client messages and a recorder factory in a temp dir.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { tempDir } from '@bmc-console/common/testing/temp-dir';
import { pino } from 'pino';
import { parseProxyConfig, type RecordingsConfig } from '../src/config.js';
import type { RecordedSession, SessionRecorder } from '../src/recording/session-recorder.js';
import { createRecorderFactory, type RecordingFactory } from '../src/recording/recording-writer.js';

export const quiet = pino({ level: 'silent' });

/** A ServerInit: size, a 32-bit pixel format, the desktop name. */
function serverInit(width: number, height: number, name = 'test desktop'): Buffer {
  const n = Buffer.from(name, 'utf8');
  const b = Buffer.alloc(24 + n.length);
  b.writeUInt16BE(width, 0);
  b.writeUInt16BE(height, 2);
  Buffer.from([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]).copy(b, 4);
  b.writeUInt32BE(n.length, 20);
  n.copy(b, 24);
  return b;
}

export function session(over: Partial<RecordedSession> = {}): RecordedSession {
  return {
    session: randomUUID(),
    node: 'node-1',
    user: 'alice',
    role: 'control',
    readOnly: false,
    source: '192.0.2.7',
    tokenId: 'abcdef012345',
    start: new Date(),
    serverInit: serverInit(1024, 768),
    ...over,
  };
}

export const keyEvent = (down: boolean, keysym: number) =>
  Buffer.from([4, down ? 1 : 0, 0, 0, keysym >>> 24, (keysym >>> 16) & 255, (keysym >>> 8) & 255, keysym & 255]);

export const pointerEvent = (buttons: number, x: number, y: number) =>
  Buffer.from([5, buttons, x >> 8, x & 255, y >> 8, y & 255]);

export function cutText(text: string): Buffer {
  const t = Buffer.from(text, 'latin1');
  const b = Buffer.alloc(8 + t.length);
  b[0] = 6;
  b.writeUInt32BE(t.length, 4);
  t.copy(b, 8);
  return b;
}

/** The recordings section as the proxy parses it, in a fresh temp dir (limits high unless given). */
export function recordingsConfig(over: Record<string, unknown> = {}): RecordingsConfig {
  const base = tempDir('bmc-rec-');
  return parseProxyConfig({
    recordings: { dir: join(base, 'recordings'), maxBytes: 1024 ** 4, maxAgeDays: 100_000, ...over },
  }).recordings;
}

export function newFactory(over: Record<string, unknown> = {}): {
  config: RecordingsConfig;
  factory: RecordingFactory;
} {
  const config = recordingsConfig(over);
  return { config, factory: createRecorderFactory(config, quiet) };
}

/** Opens a recording, runs the script against it and closes it; returns its id. */
export async function record(
  factory: RecordingFactory,
  s: RecordedSession,
  script: (r: SessionRecorder) => void | Promise<void> = (r) => r.consoleBytes(Buffer.from('frame')),
): Promise<string> {
  const r = factory(s);
  await script(r);
  await r.close();
  return r.id;
}
