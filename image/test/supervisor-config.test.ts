/**
 * `bmc-console run` configuration on the host (real Xvfb, x11vnc, Chromium): an invalid environment is shown
 * on screen (no crash loop); VNC_PASSWORD and READ_ONLY reach x11vnc without the password in argv or logs.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureFrame } from '@bmc-console/common/rfb/client';
import { encodePng } from '@bmc-console/common/rfb/png';
import { STATUS_PAGE_COLOURS } from 'bmc-console/status-page/status-page';
import { REPO_ROOT, startConsole } from './helpers/console-process.js';
import { colourShare, hexToRgb, looksLikeFakeConsole, waitForFrame, type Frame } from './helpers/pixels.js';

const SHOTS = join(REPO_ROOT, '.work', 'screenshots'); // git-ignored
function save(name: string, f: Frame): void {
  mkdirSync(SHOTS, { recursive: true });
  writeFileSync(join(SHOTS, `${name}.png`), encodePng(f));
}

describe('supervisor with an invalid environment', { timeout: 240_000 }, () => {
  it('stays up and shows every problem, naming the variable, without the password', async () => {
    const c = await startConsole({ APP: 'nonsense', READ_ONLY: 'maybe', APP_INFO: '{"password":"hunter22", bad json' });
    try {
      const bg = hexToRgb(STATUS_PAGE_COLOURS.failureBackground);
      const f = await waitForFrame({ port: c.port }, (fr) => colourShare(fr, bg) > 0.5);
      save('supervisor-env-error', f);
      const out = c.output();
      expect(out).toMatch(/APP: expected one of fake, redfish-graphical/);
      expect(out).toMatch(/READ_ONLY must be True or False/);
      expect(out).toMatch(/APP_INFO.*not valid JSON/);
      expect(out).not.toContain('hunter22');
      expect(c.proc.exitCode).toBeNull();
    } finally {
      await c.stop();
    }
  });
});

describe('supervisor with VNC_PASSWORD and READ_ONLY', { timeout: 240_000 }, () => {
  it('asks VNC clients for the password, which never appears in argv or logs', async () => {
    const c = await startConsole({ APP: 'fake', VNC_PASSWORD: 'pw-8ch!', READ_ONLY: 'True' });
    try {
      const s = await c.waitForState((st) => !!st.x11vncPid);
      const f = await waitForFrame({ port: c.port, password: 'pw-8ch!' }, looksLikeFakeConsole);
      expect(f.width).toBe(1280);
      await expect(
        captureFrame({ host: '127.0.0.1', port: c.port, password: 'wrong', timeoutMs: 5000 }),
      ).rejects.toThrow();
      await expect(captureFrame({ host: '127.0.0.1', port: c.port, timeoutMs: 5000 })).rejects.toThrow();
      const argv = readFileSync(`/proc/${s.x11vncPid}/cmdline`, 'utf8').split('\0');
      expect(argv).toContain('-viewonly');
      expect(argv.join(' ')).not.toContain('pw-8ch!');
      expect(c.output()).not.toContain('pw-8ch!');
    } finally {
      await c.stop();
    }
  });
});
