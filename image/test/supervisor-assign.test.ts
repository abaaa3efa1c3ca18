/**
 * AWAIT_APP_INFO: a console started before its node is known (the host agent's pool) runs Xvfb, x11vnc and
 * Chromium, and `bmc-console assign` gives it the node's APP_INFO and VNC password on stdin. The supervisor on the
 * host, with the real assign command, a real VNC client and the emulator.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RfbClient } from '@bmc-console/common/rfb/client';
import { startEmulator, type RunningEmulator } from '@bmc-console/bmc-emulator/emulator';
import { kvmMarkerColor } from '@bmc-console/bmc-emulator/marker';
import { FAKE_CONSOLE_COLOURS } from 'bmc-console/status-page/status-page';
import { REPO_ROOT, startConsole, type ConsoleProcess } from './helpers/console-process.js';
import { colourShare } from './helpers/pixels.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `bmc-console assign` from source, with `input` on stdin. */
function assign(socket: string, input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', join(REPO_ROOT, 'image/src/cli.ts'), 'assign'],
      { cwd: REPO_ROOT, env: { ...process.env, ASSIGN_SOCKET: socket } },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** Polls fresh VNC frames (password auth) until `colour` covers at least `share` of the screen. */
async function waitForColour(
  port: number,
  password: string,
  colour: { r: number; g: number; b: number },
  share: number,
  timeoutMs = 90_000,
): Promise<void> {
  const c = await RfbClient.connect({ host: '127.0.0.1', port, password, timeoutMs: 20_000 });
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await c.requestUpdate(false);
      if (colourShare({ width: c.width, height: c.height, rgba: c.framebuffer }, colour, 16) >= share) return;
      if (Date.now() > deadline)
        throw new Error(`rgb(${colour.r},${colour.g},${colour.b}) was not on screen within ${timeoutMs} ms`);
      await sleep(300);
    }
  } finally {
    c.close();
  }
}

describe('a console that waits for its node (AWAIT_APP_INFO, bmc-console assign)', { timeout: 240_000 }, () => {
  let emu: RunningEmulator;
  let dir: string;
  beforeAll(async () => {
    emu = await startEmulator({ vendor: 'idrac9' });
    dir = mkdtempSync(join(tmpdir(), 'bmc-assign-test-'));
  });
  afterAll(async () => {
    await emu?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('takes its node over the running browser, with the node password from then on; refuses bad and second assignments', async () => {
    const socket = join(dir, 'fake.sock');
    const c: ConsoleProcess = await startConsole({ APP: 'fake', AWAIT_APP_INFO: '1', ASSIGN_SOCKET: socket });
    try {
      const before = await c.waitForState((s) => s.chromiumPid !== undefined);
      await c.waitForOutput(/it waits for its node/);
      await c.waitForOutput(/waiting to be assigned a node/);
      // Not for anyone yet: a random password, so an unauthenticated viewer is turned away.
      await expect(RfbClient.connect({ host: '127.0.0.1', port: c.port, timeoutMs: 10_000 })).rejects.toThrow();

      const bad = await assign(socket, JSON.stringify({ appInfo: { node_uuid: 'n-1' }, vncPassword: 'waytoolongpw' }));
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/vncPassword: expected at most 8 characters/);
      expect(bad.stderr).not.toContain('waytoolongpw');
      const notJson = await assign(socket, '{"appInfo": {"password": "hunter2"');
      expect(notJson.code).toBe(2);
      expect(notJson.stderr).toMatch(/stdin is not valid JSON/);
      expect(notJson.stderr).not.toContain('hunter2');

      const ok = await assign(
        socket,
        JSON.stringify({ appInfo: { node_uuid: 'n-1', password: 'hunter2' }, vncPassword: 'pw-n1' }),
      );
      expect(ok.stderr).toBe('');
      expect(ok.code).toBe(0);
      await waitForColour(c.port, 'pw-n1', FAKE_CONSOLE_COLOURS.background, 0.3);
      // Same flags: the node's app took over the running browser.
      expect(c.state()?.chromiumPid).toBe(before.chromiumPid);
      await expect(
        RfbClient.connect({ host: '127.0.0.1', port: c.port, password: 'other', timeoutMs: 10_000 }),
      ).rejects.toThrow();

      const again = await assign(socket, JSON.stringify({ appInfo: { node_uuid: 'n-2' }, vncPassword: 'pw-n2' }));
      expect(again.code).toBe(2);
      expect(again.stderr).toMatch(/has its node already/);
      expect(c.output()).not.toContain('hunter2');
      expect(c.output()).not.toContain('pw-n1');
    } finally {
      await c.stop();
    }
  });

  it('opens the emulated iDRAC for its first viewer; a pinned certificate (verify_ca false) gets a fresh browser', async () => {
    const socket = join(dir, 'redfish.sock');
    const c: ConsoleProcess = await startConsole({
      APP: 'redfish-graphical',
      AWAIT_APP_INFO: 'True',
      ASSIGN_SOCKET: socket,
    });
    try {
      const before = await c.waitForState((s) => s.chromiumPid !== undefined);
      await c.waitForOutput(/waiting to be assigned a node/);
      // A node without its BMC address is refused, naming the field; the console keeps waiting.
      const incomplete = await assign(
        socket,
        JSON.stringify({ appInfo: { username: 'root', password: 'calvin' }, vncPassword: 'pw' }),
      );
      expect(incomplete.code).toBe(2);
      expect(incomplete.stderr).toMatch(/APP_INFO\.address/);
      expect(incomplete.stderr).not.toContain('calvin');

      const appInfo = { address: emu.url, username: emu.username, password: emu.password, verify_ca: false };
      const ok = await assign(socket, JSON.stringify({ appInfo, vncPassword: 'kvm-pw' }));
      expect(ok.code).toBe(0);
      await waitForColour(c.port, 'kvm-pw', kvmMarkerColor('idrac9'), 0.0005);
      await c.waitForOutput(/the KVM is showing/);
      expect(c.output()).toMatch(/other browser flags/);
      expect(c.state()?.chromiumPid).not.toBe(before.chromiumPid);
      expect(c.output()).not.toContain(emu.password);
      // The waiting browser (killed, nothing in it to save) leaves its profile, deleted once the fresh one is up.
      const runtimeDir = dirname(before.xauthority ?? '');
      for (let i = 0; i < 50 && existsSync(join(runtimeDir, 'profile-1')); i++)
        await new Promise((r) => setTimeout(r, 100));
      expect(existsSync(join(runtimeDir, 'profile-1'))).toBe(false);
      expect(existsSync(join(runtimeDir, 'profile-2'))).toBe(true);
    } finally {
      await c.stop();
    }
  });

  it('a node whose CA bundle comes in the assignment: the running browser takes the bundle up, and the iDRAC shows', async () => {
    const caEmu = await startEmulator({ vendor: 'idrac9', caDir: join(dir, 'ca') });
    const socket = join(dir, 'ca.sock');
    const c: ConsoleProcess = await startConsole({
      APP: 'redfish-graphical',
      AWAIT_APP_INFO: '1',
      ASSIGN_SOCKET: socket,
    });
    try {
      const before = await c.waitForState((s) => s.chromiumPid !== undefined);
      await c.waitForOutput(/waiting to be assigned a node/);
      const notPem = await assign(
        socket,
        JSON.stringify({ appInfo: { address: caEmu.url }, vncPassword: 'pw', caBundle: 'not a certificate' }),
      );
      expect(notPem.code).toBe(2);
      expect(notPem.stderr).toMatch(/caBundle: expected PEM certificates/);

      // verify_ca names a file on the agent's host, which the console has not: the bundle's text replaces it.
      const appInfo = {
        address: caEmu.url,
        username: caEmu.username,
        password: caEmu.password,
        verify_ca: '/nowhere/on/this/host.pem',
      };
      const ok = await assign(
        socket,
        JSON.stringify({ appInfo, vncPassword: 'ca-pw', caBundle: readFileSync(caEmu.caFile!, 'utf8') }),
      );
      expect(ok.stderr).toBe('');
      expect(ok.code).toBe(0);
      await waitForColour(c.port, 'ca-pw', kvmMarkerColor('idrac9'), 0.0005);
      await c.waitForOutput(/the KVM is showing/);
      // Chromium had made no TLS connection yet, so it read the NSS database with the bundle in it: no relaunch.
      expect(c.state()?.chromiumPid).toBe(before.chromiumPid);
      expect(c.output()).not.toMatch(/launching a fresh browser/);
      expect(c.output()).not.toContain(caEmu.password);
    } finally {
      await c.stop();
      await caEmu.close();
    }
  });

  it('a CA bundle the running browser does not trust the BMC with gets a fresh browser, and the certificate error is shown', async () => {
    const bmc = await startEmulator({ vendor: 'idrac9', caDir: join(dir, 'ca-bmc') });
    const other = await startEmulator({ vendor: 'idrac9', caDir: join(dir, 'ca-other') });
    const socket = join(dir, 'wrong-ca.sock');
    // KVM_RELEASE_AFTER=always: the console goes to the BMC without waiting for a viewer.
    const c: ConsoleProcess = await startConsole({
      APP: 'redfish-graphical',
      AWAIT_APP_INFO: '1',
      ASSIGN_SOCKET: socket,
      KVM_RELEASE_AFTER: 'always',
    });
    try {
      const before = await c.waitForState((s) => s.chromiumPid !== undefined);
      await c.waitForOutput(/waiting to be assigned a node/);
      const appInfo = {
        address: bmc.url,
        username: bmc.username,
        password: bmc.password,
        verify_ca: '/agent/host/ca.pem',
      };
      const ok = await assign(
        socket,
        JSON.stringify({ appInfo, vncPassword: 'ca-pw', caBundle: readFileSync(other.caFile!, 'utf8') }),
      );
      expect(ok.code).toBe(0);
      await c.waitForOutput(/does not trust the BMC with the CA bundle: launching a fresh browser/);
      await c.waitForOutput(/certificate was not accepted/);
      expect(
        (await c.waitForState((s) => s.chromiumPid !== undefined && s.chromiumPid !== before.chromiumPid)).chromiumPid,
      ).not.toBe(before.chromiumPid);
      expect(c.output()).not.toContain(bmc.password);
    } finally {
      await c.stop();
      await bmc.close();
      await other.close();
    }
  });
});
