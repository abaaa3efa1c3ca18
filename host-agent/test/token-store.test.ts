import { describe, expect, it } from 'vitest';
import { StateStore } from '../src/state-store.js';
import { FileTokenStore } from '../src/tokens/file-token-store.js';
import { consoleUrl, hashToken, newToken, newVncPassword } from '../src/tokens/token-store.js';
import { tempDir } from '@bmc-console/common/testing/temp-dir';

const target = { host: '127.0.0.1', port: 41000, readOnly: false, vncPassword: 'Ab3$%^*!' };

function setup() {
  const dir = tempDir('agent-tokens-');
  let now = new Date('2026-11-25T12:00:00.000Z');
  const clock = { set: (d: Date) => (now = d), advance: (s: number) => (now = new Date(now.getTime() + s * 1000)) };
  const store = new FileTokenStore(new StateStore(dir), 600, () => now);
  return { dir, store, clock, now: () => now };
}

describe('file token store', () => {
  it('issues 32-byte base64url tokens and stores only their SHA-256', async () => {
    const { dir, store } = setup();
    const { token, expiresAt } = await store.issue('node-a', target);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    expect(expiresAt.toISOString()).toBe('2026-11-25T12:10:00.000Z');
    const state = await new StateStore(dir).read();
    expect(JSON.stringify(state)).not.toContain(token);
    expect(state.tokens[0]!.hash).toBe(hashToken(token));
  });

  it('verifies a valid token with its target, several at once', async () => {
    const { store } = setup();
    const a = await store.issue('node-a', target);
    const b = await store.issue('node-a', target);
    for (const t of [a, b]) {
      const r = await store.verify('node-a', t.token);
      expect(r).toEqual({ ok: true, node: 'node-a', target, expiresAt: t.expiresAt });
    }
  });

  it('refuses expired, wrong-node, revoked and unknown tokens with the reason', async () => {
    const { store, clock } = setup();
    const a = await store.issue('node-a', target);
    expect(await store.verify('node-b', a.token)).toEqual({ ok: false, reason: 'wrong-node' });
    expect(await store.verify('node-a', newToken())).toEqual({ ok: false, reason: 'unknown' });
    clock.advance(599);
    expect((await store.verify('node-a', a.token)).ok).toBe(true);
    clock.advance(1);
    expect(await store.verify('node-a', a.token)).toEqual({ ok: false, reason: 'expired' });
    const b = await store.issue('node-a', target);
    await store.revoke('node-a');
    expect(await store.verify('node-a', b.token)).toEqual({ ok: false, reason: 'revoked' });
  });

  it('survives an agent restart (a new store on the same state dir)', async () => {
    const { dir, store, now } = setup();
    const a = await store.issue('node-a', target);
    const again = new FileTokenStore(new StateStore(dir), 600, now);
    expect((await again.verify('node-a', a.token)).ok).toBe(true);
  });

  it('builds Ironic-style console URLs', () => {
    expect(consoleUrl('http://192.0.2.1:6090/vnc_auto.html', '1be26c0b-03f2-4d2e-ae87-c02d7f33c123', 'asdf')).toBe(
      'http://192.0.2.1:6090/vnc_auto.html?path=websockify%3Fnode%3D1be26c0b-03f2-4d2e-ae87-c02d7f33c123%26token%3Dasdf',
    );
    expect(consoleUrl('https://p/view?lang=en', 'n', 't')).toBe(
      'https://p/view?lang=en&path=websockify%3Fnode%3Dn%26token%3Dt',
    );
  });

  it('makes 8-character printable VNC passwords', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const p = newVncPassword();
      expect(p).toMatch(/^[\x21-\x7e]{8}$/);
      seen.add(p);
    }
    expect(seen.size).toBe(200);
  });

  it('never makes a VNC password x11vnc reads as a comment (a leading #: x11vnc exits 1)', () => {
    for (let i = 0; i < 5000; i++) expect(newVncPassword()).not.toContain('#');
  });
});
