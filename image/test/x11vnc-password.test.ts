/**
 * A console that waits for its node changes its VNC password once: real Xvfb and x11vnc ("-passwdfile read:") and a
 * real VNC client. x11vnc sees a new file only by a new mtime in whole seconds, so a password replaced within the
 * second it was first written must still reach the next client.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '@bmc-console/common/log';
import { captureFrame } from '@bmc-console/common/rfb/client';
import { startX11vnc, waitForRfb, writePasswordFile } from 'bmc-console/supervisor/x11vnc';
import { writeXauthority } from 'bmc-console/supervisor/xauthority';
import { startXvfb } from 'bmc-console/supervisor/xvfb';

const dir = mkdtempSync(join(tmpdir(), 'x11vnc-pw-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const log = createLogger('test', { level: 'silent' });

describe('x11vnc password file (read:)', { timeout: 60_000 }, () => {
  it('a password replaced in the same second it was written is the one the next client needs', async () => {
    const xvfb = await startXvfb({ width: 320, height: 240, authFile: writeXauthority(join(dir, 'Xauthority')) }, log);
    const port = 20_000 + (process.pid % 20_000);
    const file = writePasswordFile(dir, 'waiting1');
    const first = Math.floor(statSync(file).mtimeMs / 1000);
    writePasswordFile(dir, 'node-pw'); // well within the same second
    expect(Math.floor(statSync(file).mtimeMs / 1000)).toBeGreaterThan(first);
    const x11vnc = startX11vnc(
      {
        display: xvfb.display,
        authFile: xvfb.authFile,
        port,
        readOnly: true,
        passwordFile: file,
        rereadPassword: true,
      },
      log,
    );
    try {
      await waitForRfb('127.0.0.1', port, 20_000);
      writePasswordFile(dir, 'node-pw2'); // and once more while x11vnc runs, within a second of the last write
      await expect(
        captureFrame({ host: '127.0.0.1', port, password: 'node-pw2', timeoutMs: 10_000 }),
      ).resolves.toBeDefined();
      await expect(captureFrame({ host: '127.0.0.1', port, password: 'node-pw', timeoutMs: 10_000 })).rejects.toThrow(
        /authentication failed/,
      );
    } finally {
      await x11vnc.stop(200);
      await xvfb.stop(200);
    }
  });
});
