import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withLock } from '../src/file-lock.js';
import { tempDir } from '@bmc-console/common/testing/temp-dir';

describe('lock files (serialise start/stop across processes)', () => {
  it('takes over a lock whose holder process is gone', async () => {
    const lock = join(tempDir('agent-lock-'), 'node-x.lock');
    const dead = spawn(process.execPath, ['-e', '0']);
    const pid = dead.pid!;
    await new Promise((r) => dead.on('exit', r));
    writeFileSync(lock, String(pid));
    expect(await withLock(lock, async () => 'got it')).toBe('got it');
    expect(existsSync(lock)).toBe(false);
  });

  it('waits while another live process holds it', async () => {
    const lock = join(tempDir('agent-lock-'), 'node-y.lock');
    const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
    writeFileSync(lock, String(holder.pid));
    const order: string[] = [];
    const waiting = withLock(lock, async () => void order.push('second'));
    await new Promise((r) => setTimeout(r, 300));
    order.push('first released');
    holder.kill();
    await new Promise((r) => holder.on('exit', r));
    await waiting;
    expect(order).toEqual(['first released', 'second']);
  });
});
