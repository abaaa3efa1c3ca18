import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { vncAuthResponse } from '../src/rfb/vnc-auth.js';

describe('vncAuthResponse', () => {
  it('matches x11vnc -storepasswd, which DES-encrypts the password with the fixed VNC key', () => {
    // storepasswd's file = VNC-DES(key = 23,82,107,6,35,78,88,7; block = password padded to 8 bytes).
    const dir = mkdtempSync(join(tmpdir(), 'bmc-vncauth-'));
    try {
      const file = join(dir, 'passwd');
      const r = spawnSync('x11vnc', ['-storepasswd', 'S3cret!x', file], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const stored = readFileSync(file);
      const fixedKey = Buffer.from([23, 82, 107, 6, 35, 78, 88, 7]).toString('latin1');
      const block = Buffer.from('S3cret!x', 'latin1');
      const ours = vncAuthResponse(Buffer.concat([block, block]), fixedKey);
      expect(ours.subarray(0, 8).toString('hex')).toBe(stored.subarray(0, 8).toString('hex'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('uses only the first 8 password characters, as VNC does', () => {
    const challenge = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    expect(vncAuthResponse(challenge, 'abcdefgh-ignored')).toEqual(vncAuthResponse(challenge, 'abcdefgh'));
    expect(vncAuthResponse(challenge, 'abc')).not.toEqual(vncAuthResponse(challenge, 'abd'));
  });

  it('rejects a challenge that is not 16 bytes', () => {
    expect(() => vncAuthResponse(Buffer.alloc(8), 'x')).toThrow(/16 bytes/);
  });
});
