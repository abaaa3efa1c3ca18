/** The assignment a pooled console takes (AWAIT_APP_INFO): its check, and the socket it comes through. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONSOLE_DEFAULTS } from '@bmc-console/common/console-env';
import {
  checkAssignment,
  listenForAssignment,
  sendAssignment,
  type Assignment,
} from 'bmc-console/supervisor/assignment';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const dir = mkdtempSync(join(tmpdir(), 'assignment-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('assignment', () => {
  it('takes APP_INFO, a VNC password and a CA bundle; each problem names its field, never a value', () => {
    expect(checkAssignment({ appInfo: { password: 'calvin' }, vncPassword: 'pw', caBundle: PEM })).toEqual({
      appInfo: { password: 'calvin' },
      vncPassword: 'pw',
      caBundle: PEM,
    });
    const notPem = checkAssignment({ appInfo: {}, vncPassword: 'pw-1', caBundle: 'calvin' });
    expect(notPem).toBe('caBundle: expected PEM certificates (-----BEGIN CERTIFICATE-----)');
    const big = checkAssignment(
      { appInfo: {}, caBundle: PEM.padEnd(CONSOLE_DEFAULTS.assignCaBundleMaxBytes + 1, 'x') },
      'stdin',
    );
    expect(big).toBe(`caBundle: expected at most ${CONSOLE_DEFAULTS.assignCaBundleMaxBytes} bytes`);
    expect(checkAssignment({ appInfo: [], vncPassword: 'toolongpassword' })).toMatch(
      /^appInfo: .*; vncPassword: expected at most 8 characters$/,
    );
  });

  it('carries a CA bundle larger than a socket read through the socket', async () => {
    const path = join(dir, 'a.sock');
    const got: Assignment[] = [];
    const server = await listenForAssignment(path, async (a) => {
      got.push(a);
      return undefined;
    });
    try {
      const caBundle = PEM.repeat(2000); // ~110 KB
      expect(await sendAssignment(path, { appInfo: { node_uuid: 'n' }, caBundle })).toEqual({ ok: true });
      expect(got).toEqual([{ appInfo: { node_uuid: 'n' }, caBundle }]);
    } finally {
      server.close();
    }
  });
});
