// `bmc-console-proxy recordings list|show|prune`, run as a program from source (tsx) like the proxy's own CLI test.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RecordingFactory } from '../src/recording/recording-writer.js';
import { cutText, keyEvent, newFactory, pointerEvent, record, session } from './recording-fixtures.js';

const DAY = 24 * 3600 * 1000;
let factory: RecordingFactory;
let cfg: string;
let dir: string;
const ids = { old: '', typed: '', altered: '', other: '' };

function cli(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'proxy/src/cli.ts', ...args], {
    cwd: join(import.meta.dirname, '../..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, out, err })));
}

beforeAll(async () => {
  const made = newFactory();
  factory = made.factory;
  dir = made.config.dir;
  cfg = join(dir, '..', 'proxy.yaml');
  writeFileSync(cfg, `recordings:\n  dir: ${dir}\n  keyFile: ${made.config.keyFile}\n  maxAgeDays: 30\n`);
  ids.old = await record(factory, session({ start: new Date(Date.now() - 3 * DAY), user: 'bob' }));
  ids.typed = await record(factory, session({ start: new Date(Date.now() - 2 * DAY), user: 'alice' }), async (r) => {
    r.event({ event: 'joined', session: 's1', user: 'alice' });
    r.viewerMessage(keyEvent(true, 0x61), false);
    r.viewerMessage(keyEvent(false, 0x61), false);
    await new Promise((res) => setTimeout(res, 20));
    r.viewerMessage(keyEvent(true, 0xff0d), true);
    r.viewerMessage(pointerEvent(1, 10, 20), false);
    r.viewerMessage(cutText('hello'), false);
  });
  ids.altered = await record(factory, session({ start: new Date(Date.now() - DAY), node: 'node-2' }));
  const path = join(dir, `${ids.altered}.bmcrec`);
  const bytes = readFileSync(path);
  bytes[bytes.length - 45] = (bytes[bytes.length - 45] as number) ^ 1;
  writeFileSync(path, bytes);
});

describe('bmc-console-proxy recordings', () => {
  it('lists recordings as a table or JSON, optionally for one node', async () => {
    const table = await cli('recordings', 'list', '--config', cfg);
    expect(table.code).toBe(0);
    const lines = table.out.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+USER\s+ROLE\s+START\s+SIZE\s+STATE$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual([ids.old, ids.typed, ids.altered]);
    expect(lines[1]).toMatch(/\bbob\s+control\b.*\bcomplete$/);
    const json = await cli('recordings', 'list', '--config', cfg, '--node', 'node-2', '--json');
    expect(json.code).toBe(0);
    expect((JSON.parse(json.out) as { recordings: Array<{ id: string }> }).recordings.map((r) => r.id)).toEqual([
      ids.altered,
    ]);
    // The proxy's own flag gives the directory as well as the config file does.
    const byFlag = await cli('recordings', 'list', '--recordings-dir', dir, '--json');
    expect((JSON.parse(byFlag.out) as { recordings: unknown[] }).recordings).toHaveLength(3);
  });

  it('shows a recording: header, duration, verification, input with times and user', async () => {
    const text = await cli('recordings', 'show', ids.typed, '--config', cfg);
    expect(text.err).toBe('');
    expect(text.code).toBe(0);
    expect(text.out).toContain(`recording ${ids.typed}`);
    expect(text.out).toMatch(/user\s+alice \(control\)/);
    expect(text.out).toMatch(/screen\s+1024x768 "test desktop"/);
    expect(text.out).toMatch(/verified\s+yes/);
    expect(text.out).toMatch(/\+\d+\.\d{3}s {2}joined alice/);
    expect(text.out).toMatch(/\+\d+\.\d{3}s {2}alice {2}key down a\n.*alice {2}key up {3}a\n/);
    expect(text.out).toMatch(/alice {2}key down Return {2}\[dropped\]/);
    expect(text.out).toMatch(/alice {2}pointer buttons=1 x=10 y=20/);
    expect(text.out).toMatch(/alice {2}clipboard 5 bytes/);
    const json = await cli('recordings', 'show', ids.typed, '--config', cfg, '--json');
    const doc = JSON.parse(json.out) as {
      verified: boolean;
      durationMs: number;
      input: Array<{ key?: string; atMs: number }>;
    };
    expect(doc.verified).toBe(true);
    expect(doc.input.filter((e) => e.key).map((e) => e.key)).toEqual(['a', 'a', 'Return']);
    expect(doc.input[2]?.atMs).toBeGreaterThanOrEqual(15);
  });

  it('exits 3 for a recording that fails verification, and 1 for a bad or unknown id', async () => {
    const altered = await cli('recordings', 'show', ids.altered, '--config', cfg);
    expect(altered.code).toBe(3);
    expect(altered.out).toMatch(/verified\s+NO: altered: .*changed after it was written/);
    const json = await cli('recordings', 'show', ids.altered, '--config', cfg, '--json');
    expect(json.code).toBe(3);
    expect(JSON.parse(json.out)).toMatchObject({ verified: false, problem: 'altered' });

    const bad = await cli('recordings', 'show', '../../etc/passwd', '--config', cfg);
    expect(bad.code).toBe(1);
    expect(bad.err).toBe(
      'bmc-console-proxy recordings: "../../etc/passwd" is not a recording id (<start>-<node>-<session>, as `recordings list` shows)\n',
    );
    const unknown = await cli('recordings', 'show', '20200101T000000Z-node-1-00000000', '--config', cfg);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain(`no recording 20200101T000000Z-node-1-00000000 in ${dir}`);
    expect((await cli('recordings', 'frobnicate')).code).toBe(1);
    expect(
      (await cli('recordings', 'show', ids.typed, '--recordings-dir', dir, '--recordings-key-file', join(dir, 'nokey')))
        .err,
    ).toMatch(/recordings\.keyFile: .*nokey does not exist/);
  });

  it('prunes by age and size, oldest first, sparing an unfinished recording that may still be written', async () => {
    const open = factory(session({ start: new Date(Date.now() - 60_000) }));
    open.consoleBytes(Buffer.alloc(4096));
    await new Promise((r) => setTimeout(r, 50));
    const age = await cli('recordings', 'prune', '--config', cfg, '--max-age-days', '2.5', '--json');
    expect(age.code).toBe(0);
    expect(JSON.parse(age.out)).toEqual({ removed: [ids.old] });
    const size = await cli('recordings', 'prune', '--config', cfg, '--max-bytes', '1');
    expect(size.code).toBe(0);
    expect(size.out).toBe(`removed 2:\n  ${ids.typed}\n  ${ids.altered}\n`);
    expect(existsSync(join(dir, `${open.id}.bmcrec`))).toBe(true);
    const bad = await cli('recordings', 'prune', '--config', cfg, '--max-bytes', 'lots');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/recordings\.maxBytes: expected a size/);
    await open.close();
  });

  it('leaves the main command as it was: its help mentions the subcommand, a bad flag still exits 2', async () => {
    const help = await cli('--help');
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/--recordings-dir <dir>/);
    expect(help.out).toMatch(/bmc-console-proxy recordings list\|show\|prune/);
    expect((await cli('--port', 'eighty')).code).toBe(2);
  });
});
