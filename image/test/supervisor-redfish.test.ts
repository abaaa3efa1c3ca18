/**
 * APP=redfish-graphical through the supervisor on the host, against the BMC emulator over HTTPS
 * (self-signed, verify_ca=false -> SPKI pin): discovery + vendor script put the KVM on screen, SIGTERM ends
 * the BMC's KVM session cleanly, and a rejected password is shown as a failure page.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePng } from '@bmc-console/common/rfb/png';
import { startEmulator, type RunningEmulator } from '@bmc-console/bmc-emulator/emulator';
import { kvmMarkerColor } from '@bmc-console/bmc-emulator/marker';
import { STATUS_PAGE_COLOURS } from 'bmc-console/status-page/status-page';
import { REPO_ROOT, startConsole } from './helpers/console-process.js';
import { colourShare, hexToRgb, waitForFrame } from './helpers/pixels.js';

describe('supervisor with APP=redfish-graphical against the emulator (iDRAC 9)', { timeout: 240_000 }, () => {
  let emu: RunningEmulator;
  beforeAll(async () => {
    emu = await startEmulator({ vendor: 'idrac9' });
  });
  afterAll(async () => {
    await emu?.close();
  });
  const appInfo = (password: string) =>
    JSON.stringify({ address: emu.url, username: emu.username, password, verify_ca: false, node_uuid: 'node-a' });

  it('shows the KVM, never logs the password, and closes the KVM session on SIGTERM', async () => {
    const c = await startConsole({ APP: 'redfish-graphical', APP_INFO: appInfo(emu.password) });
    try {
      const marker = kvmMarkerColor('idrac9');
      const f = await waitForFrame({ port: c.port }, (fr) => colourShare(fr, marker, 16) > 0.001);
      mkdirSync(join(REPO_ROOT, '.work', 'screenshots'), { recursive: true });
      writeFileSync(join(REPO_ROOT, '.work', 'screenshots', 'supervisor-redfish-idrac9.png'), encodePng(f));
      await c.waitForOutput(/the KVM is showing/); // the vendor script's open() has finished
      expect(emu.state().liveKvmSessions).toBe(1);
      // Its KVM port speaks no TLS: the browser that started on the web port's pin had them all.
      expect(c.output()).not.toMatch(/launching the browser again/);
    } finally {
      const { code } = await c.stop();
      expect(code).toBe(0);
    }
    const s = emu.state();
    expect(s.liveKvmSessions).toBe(0);
    expect(s.logouts.map((l) => l.kind)).toContain('kvm');
    expect(c.output()).not.toContain(emu.password);
  });

  it('shows a rejected password as a failure page naming the cause', async () => {
    const c = await startConsole({ APP: 'redfish-graphical', APP_INFO: appInfo('wrong-password') });
    try {
      const bg = hexToRgb(STATUS_PAGE_COLOURS.failureBackground);
      const f = await waitForFrame({ port: c.port }, (fr) => colourShare(fr, bg) > 0.5);
      writeFileSync(join(REPO_ROOT, '.work', 'screenshots', 'supervisor-redfish-auth-failure.png'), encodePng(f));
      expect(c.output()).toMatch(/"kind":"auth"/);
      expect(c.output()).not.toContain('wrong-password');
      expect(c.proc.exitCode).toBeNull();
    } finally {
      await c.stop();
    }
  });
});

describe('supervisor with verify_ca false against an emulated XCC (its viewer port has a certificate of its own)', {
  timeout: 240_000,
}, () => {
  it('starts Chromium on the web port pin, launches it again with the viewer port pinned too, and shows the KVM', async () => {
    const emu = await startEmulator({ vendor: 'xcc', host: '127.0.0.1' });
    const appInfo = { address: emu.url, username: emu.username, password: emu.password, verify_ca: false };
    const c = await startConsole({ APP: 'redfish-graphical', APP_INFO: JSON.stringify(appInfo) });
    try {
      await waitForFrame({ port: c.port }, (fr) => colourShare(fr, kvmMarkerColor('xcc'), 16) > 0.001);
      await c.waitForOutput(/the KVM is showing/);
      // One relaunch, before the app ran: one KVM session, opened in the browser with both pins.
      expect(c.output().match(/launching the browser again/g)).toHaveLength(1);
      expect(c.output()).not.toMatch(/Console connection refused/);
      expect(emu.state().liveKvmSessions).toBe(1);
    } finally {
      await c.stop();
      await emu.close();
    }
  });
});
