import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StateStore } from '../src/state-store.js';
import { FileTokenStore } from '../src/tokens/file-token-store.js';
import { CONTROL_LINK, consoleUrl, hashToken, newToken, newVncPassword } from '../src/tokens/token-store.js';
import { tempDir } from '@bmc-console/common/testing/temp-dir';

const target = { host: '127.0.0.1', port: 41000, readOnly: false, vncPassword: 'Ab3$%^*!', record: false };

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
    const { token, expiresAt } = await store.issue('node-a', target, CONTROL_LINK);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    expect(expiresAt.toISOString()).toBe('2026-11-25T12:10:00.000Z');
    const state = await new StateStore(dir).read();
    expect(JSON.stringify(state)).not.toContain(token);
    expect(state.tokens[0]!.hash).toBe(hashToken(token));
  });

  it('verifies a valid token with its target, several at once', async () => {
    const { store } = setup();
    const a = await store.issue('node-a', target, CONTROL_LINK);
    const b = await store.issue('node-a', target, CONTROL_LINK);
    for (const t of [a, b]) {
      const r = await store.verify('node-a', t.token);
      expect(r).toEqual({ ok: true, node: 'node-a', target, claims: CONTROL_LINK, expiresAt: t.expiresAt });
    }
  });

  it('refuses expired, wrong-node, revoked and unknown tokens with the reason', async () => {
    const { store, clock } = setup();
    const a = await store.issue('node-a', target, CONTROL_LINK);
    expect(await store.verify('node-b', a.token)).toEqual({ ok: false, reason: 'wrong-node' });
    expect(await store.verify('node-a', newToken())).toEqual({ ok: false, reason: 'unknown' });
    clock.advance(599);
    expect((await store.verify('node-a', a.token)).ok).toBe(true);
    clock.advance(1);
    expect(await store.verify('node-a', a.token)).toEqual({ ok: false, reason: 'expired' });
    const b = await store.issue('node-a', target, CONTROL_LINK);
    await store.revoke('node-a');
    expect(await store.verify('node-a', b.token)).toEqual({ ok: false, reason: 'revoked' });
  });

  it('survives an agent restart (a new store on the same state dir)', async () => {
    const { dir, store, now } = setup();
    const a = await store.issue('node-a', target, CONTROL_LINK);
    const again = new FileTokenStore(new StateStore(dir), 600, now);
    expect((await again.verify('node-a', a.token)).ok).toBe(true);
  });

  it("keeps each token's claims (role, user, exclusive) and the console's record option", async () => {
    const { dir, store } = setup();
    const recorded = { ...target, record: true };
    const alice = await store.issue('node-a', recorded, { role: 'view', user: 'alice', exclusive: false });
    const bob = await store.issue('node-a', recorded, { role: 'control', user: 'Bob Ü. Smith', exclusive: true });
    expect(await store.verify('node-a', alice.token)).toMatchObject({
      ok: true,
      target: recorded,
      claims: { role: 'view', user: 'alice', exclusive: false },
    });
    expect(await store.verify('node-a', bob.token)).toMatchObject({
      ok: true,
      claims: { role: 'control', user: 'Bob Ü. Smith', exclusive: true },
    });
    // Across a restart too: the claims are in the state file, next to the hash (never the token).
    const again = new FileTokenStore(new StateStore(dir), 600, () => new Date('2026-11-25T12:00:00.000Z'));
    expect(await again.verify('node-a', alice.token)).toMatchObject({ claims: { role: 'view', user: 'alice' } });
    const text = readFileSync(join(dir, 'state.json'), 'utf8');
    expect(text).toContain('"role": "view"');
    expect(text).not.toContain(alice.token);
  });

  it('loads state written before claims: a control link without a name, not exclusive, not recorded', async () => {
    const { dir, store } = setup();
    const token = newToken();
    const old = {
      version: 1,
      consoles: {},
      tokens: [
        {
          hash: hashToken(token),
          node: 'node-a',
          host: '127.0.0.1',
          port: 41000,
          readOnly: true,
          createdAt: '2026-11-25T11:59:00.000Z',
          expiresAt: '2026-11-25T12:09:00.000Z',
        },
      ],
    };
    writeFileSync(join(dir, 'state.json'), JSON.stringify(old), { mode: 0o600 });
    const r = await store.verify('node-a', token);
    expect(r).toEqual({
      ok: true,
      node: 'node-a',
      target: { host: '127.0.0.1', port: 41000, readOnly: true, record: false },
      claims: { role: 'control', exclusive: false },
      expiresAt: new Date('2026-11-25T12:09:00.000Z'),
    });
    // Issuing next to it keeps the old entry as it was.
    await store.issue('node-a', target, CONTROL_LINK);
    expect((await new StateStore(dir).read()).tokens[0]).toEqual(old.tokens[0]);
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
