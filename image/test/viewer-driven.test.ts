/**
 * Viewer-driven BMC sessions (KVM_RELEASE_AFTER): the supervisor on the host against the emulator (iDRAC 9)
 * logs in and opens the KVM only while a VNC viewer is connected, and frees the BMC's slot after the grace.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RfbClient, waitForRfbGreeting } from '@bmc-console/common/rfb/client';
import { startEmulator, type RunningEmulator } from '@bmc-console/bmc-emulator/emulator';
import { kvmMarkerColor } from '@bmc-console/bmc-emulator/marker';
import { startConsole, type ConsoleProcess } from './helpers/console-process.js';
import { colourShare, type Frame } from './helpers/pixels.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, get: () => T | undefined | false, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = get();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** A viewer that stays connected; `frame()` asks for a fresh picture. */
async function viewer(port: number): Promise<{ frame(): Promise<Frame>; close(): void }> {
  const c = await RfbClient.connect({ host: '127.0.0.1', port, timeoutMs: 20_000 });
  return {
    async frame() {
      await c.requestUpdate(false);
      return { width: c.width, height: c.height, rgba: c.framebuffer };
    },
    close: () => c.close(),
  };
}

async function waitForKvm(v: { frame(): Promise<Frame> }, timeoutMs = 120_000): Promise<void> {
  const marker = kvmMarkerColor('idrac9');
  const deadline = Date.now() + timeoutMs;
  while (colourShare(await v.frame(), marker, 16) <= 0.001) {
    if (Date.now() > deadline) throw new Error(`the KVM was not on screen within ${timeoutMs} ms`);
    await sleep(300);
  }
}

describe('viewer-driven KVM sessions against the emulator (iDRAC 9)', { timeout: 300_000 }, () => {
  let emu: RunningEmulator;
  beforeAll(async () => {
    emu = await startEmulator({ vendor: 'idrac9' });
  });
  afterAll(async () => {
    await emu?.close();
  });
  const env = (release: string) => ({
    APP: 'redfish-graphical',
    APP_INFO: JSON.stringify({ address: emu.url, username: emu.username, password: emu.password, verify_ca: false }),
    KVM_RELEASE_AFTER: release,
  });

  it('opens the KVM for the first viewer, releases it after the grace, and opens it again for the next viewer', async () => {
    const c: ConsoleProcess = await startConsole(env('2'));
    try {
      await c.waitForState((s) => s.chromiumPid !== undefined && s.kvmWanted === false);
      await c.waitForOutput(/Ready: the BMC console opens when a viewer connects/);
      expect(emu.state().liveKvmSessions).toBe(0);
      expect(emu.state().redfishSessions).toBe(0);

      const v1 = await viewer(c.port);
      await waitForKvm(v1);
      await c.waitForOutput(/the KVM is showing/);
      expect(emu.state().liveKvmSessions).toBe(1);
      v1.close();

      // After the grace: the KVM is closed and the BMC session logged out.
      await c.waitForState((s) => s.kvmWanted === false);
      await c.waitForOutput(/the KVM is closed/);
      await until('KVM slot released', () => emu.state().liveKvmSessions === 0);
      expect(emu.state().logouts.map((l) => l.kind)).toContain('kvm');

      const v2 = await viewer(c.port);
      await waitForKvm(v2);
      expect(emu.state().liveKvmSessions).toBe(1);
      v2.close();
    } finally {
      await c.stop();
    }
    expect(emu.state().liveKvmSessions).toBe(0);
    expect(c.output()).not.toContain(emu.password);
  });

  it('a viewer arriving within the grace gets the open KVM (no new login)', async () => {
    const c = await startConsole(env('600'));
    try {
      await c.waitForState((s) => s.chromiumPid !== undefined && s.kvmWanted === false);
      const v1 = await viewer(c.port);
      await waitForKvm(v1);
      const logins = emu.state().logins.ok;
      v1.close();
      await c.waitForState((s) => s.viewers === 0);
      const v2 = await viewer(c.port);
      await waitForKvm(v2);
      expect(emu.state().logins.ok).toBe(logins);
      expect(emu.state().liveKvmSessions).toBe(1);
      v2.close();
      // A slow BMC logout keeps the stop's KVM close running across an alive check (every 2 s).
      emu.control({ slowMs: 2500 });
    } finally {
      await c.stop();
      emu.control({ slowMs: 0 });
    }
    expect(emu.state().liveKvmSessions).toBe(0);
    // Stopping takes the open KVM down on purpose: the alive check must not call that a lost session and reopen it.
    expect(c.output()).not.toMatch(/KVM session was lost|opening it again/);
  });

  it('readiness probes (connect, read the RFB greeting, close) never log in to the BMC; a viewer after them does', async () => {
    const c = await startConsole(env('0'));
    try {
      await c.waitForState((s) => s.chromiumPid !== undefined && s.kvmWanted === false);
      await c.waitForOutput(/Ready: the BMC console opens when a viewer connects/);
      const logins = emu.state().logins.ok;
      // x11vnc greets a new client 0.1-0.3 s after its connect while nobody is connected: long enough for two of the
      // supervisor's polls, so counting by time alone would take such probes for viewers. Random
      // gaps, so that the probes do not fall into step with x11vnc's loop. The agent's start probes the same way.
      for (let i = 0; i < 20; i++) {
        await waitForRfbGreeting('127.0.0.1', c.port, 10_000);
        await sleep(100 + Math.random() * 300);
      }
      await sleep(500);
      expect(c.output()).not.toContain('a viewer connected');
      expect(emu.state().logins.ok).toBe(logins);
      expect(emu.state().liveKvmSessions).toBe(0);
      const v = await viewer(c.port);
      await waitForKvm(v);
      v.close();
    } finally {
      await c.stop();
    }
  });

  it('never exceeds the session cap across 20 connect/disconnect cycles (grace 0)', async () => {
    const c = await startConsole(env('0'));
    const cap = emu.state().maxKvmSessions;
    let maxLive = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        maxLive = Math.max(maxLive, emu.state().liveKvmSessions);
        await sleep(20);
      }
    })();
    try {
      await c.waitForState((s) => s.chromiumPid !== undefined);
      for (let i = 0; i < 20; i++) {
        const v = await viewer(c.port);
        // Hold the viewer until the supervisor has noticed it (every other cycle until the KVM shows).
        await c.waitForState((s) => s.kvmWanted === true);
        if (i % 5 === 4) await waitForKvm(v);
        v.close();
        await c.waitForState((s) => s.kvmWanted === false);
      }
      await until('KVM slot released', () => emu.state().liveKvmSessions === 0);
    } finally {
      sampling = false;
      await sampler;
      await c.stop();
    }
    expect(maxLive).toBeGreaterThanOrEqual(1);
    expect(maxLive).toBeLessThanOrEqual(Math.min(1, cap));
    expect(emu.state().liveKvmSessions).toBe(0);
  });
  it('a BMC that was down at start: the failure is logged once, and the first viewer after it is back gets the KVM without waiting out the retry delay', async () => {
    emu.setDown(true);
    let c: ConsoleProcess | undefined;
    try {
      c = await startConsole(env('60'));
      // The certificate fetch at launch failed: logged with its kind, and the next try is a minute away (nobody watches).
      await c.waitForOutput(/"kind":"unreachable".*"retryInMs":60000/);
      emu.setDown(false);
      // Well inside that minute: the arriving viewer is the signal to try again.
      const v = await viewer(c.port);
      await waitForKvm(v, 45_000);
      await c.waitForOutput(/the BMC certificate is available now/);
      v.close();
      expect(c.output().match(/"the console failed"/g)?.length).toBe(1);
    } finally {
      emu.setDown(false);
      await c?.stop();
    }
    expect(c?.output()).not.toContain(emu.password);
  });
});
