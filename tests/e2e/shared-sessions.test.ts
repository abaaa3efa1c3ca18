/**
 * Shared, accountable sessions end to end: agent links with roles and names, the real console container, the proxy
 * and our viewer in Chromium, against the emulator.
 *  - two viewers on one console, one view-only: only the control viewer's keys reach the BMC; presence lists both;
 *  - an exclusive link takes sole control; hand-over through the viewer's panel moves it;
 *  - the proxy recorded each session: the replay page, seeked to the times of frames captured live from the viewer,
 *    shows the same frames (pixel comparison; OCR finds the typed text only after it was typed), and lists the keys
 *    with the user's name at the times they were typed;
 *  - a raw RFB client that ignores its view-only link gets its keys and clicks dropped by the proxy;
 *  - no recording holds a token or the VNC password;
 *  - a view-only link may not replay recordings (the timeline shows typed keys);
 *  - a recording altered on disk is refused with a clear message on the replay page.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '@bmc-console/bmc-emulator/emulator';
import type { PresenceMessage } from '@bmc-console/common/contracts/viewer-channel';
import { RfbClient } from '@bmc-console/common/rfb/client';
import { startWsBridge } from '@bmc-console/proxy/testing/ws-bridge';
import { launchBrowser, openViewer } from '../src/browser.js';
import { consoleImageMissing } from '../src/preconditions.js';
import { containsApprox, ocr } from '../src/screen.js';
import { startStack, type Stack } from '../src/stack.js';
import { until } from '../src/until.js';

const skip = consoleImageMissing();
if (skip) console.warn(`skipping the shared-session tests: ${skip}`);

const NODE = 'e2e-shared';
/** What alice types: nothing on the KVM's host screen reads like it before. */
const TYPED = 'jv4815';

interface ReplayApi {
  state: string;
  error: string | null;
  durationMs: number;
  events: { t: number; user: string | null; text: string; dropped?: boolean }[];
}

const presence = (page: Page) =>
  page.evaluate(() => (window as unknown as { bmcViewer: { presence: PresenceMessage | null } }).bmcViewer.presence);

/** The viewer's canvas as the console drew it (framebuffer size, not the page's scaling). */
async function liveFrame(page: Page): Promise<{ png: Buffer; at: number }> {
  const url = await page.evaluate(() => document.querySelector<HTMLCanvasElement>('#screen canvas')!.toDataURL());
  return { png: Buffer.from(url.split(',')[1]!, 'base64'), at: Date.now() };
}

/** Share of pixels whose colour differs by more than a little (anti-aliasing aside). */
function differingShare(a: Buffer, b: Buffer): number {
  const x = PNG.sync.read(a);
  const y = PNG.sync.read(b);
  if (x.width !== y.width || x.height !== y.height) return 1;
  let differ = 0;
  for (let i = 0; i < x.data.length; i += 4) {
    const d =
      Math.abs(x.data[i]! - y.data[i]!) +
      Math.abs(x.data[i + 1]! - y.data[i + 1]!) +
      Math.abs(x.data[i + 2]! - y.data[i + 2]!);
    if (d > 48) differ++;
  }
  return differ / (x.width * x.height);
}

async function typeInto(page: Page, text: string): Promise<void> {
  const box = (await page.locator('#screen canvas').first().boundingBox())!;
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await page.keyboard.type(text, { delay: 40 });
}

describe.skipIf(skip)('shared sessions: roles, presence, hand-over, recording and replay', () => {
  let stack: Stack;
  let browser: Browser;
  let emu: RunningEmulator;

  beforeAll(async () => {
    stack = await startStack({ agent: { record_sessions: true } });
    browser = await launchBrowser();
    emu = await stack.emulator('openbmc', { node: NODE });
    await stack.startConsole(NODE, emu);
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('a view-only viewer types nothing, the control viewer does, both see each other; an exclusive link and hand-over; the replay shows the typed keys', async () => {
    const alice = await stack.agent.url(NODE, { user: 'alice' });
    const bob = await stack.agent.url(NODE, { viewOnly: true, user: 'bob' });
    expect([alice.role, bob.role]).toEqual(['control', 'view']);
    const pa = await openViewer(browser, alice.url);
    const pb = await openViewer(browser, bob.url);

    // Presence: both listed with names and roles, on both pages.
    for (const page of [pa, pb])
      await until('presence listing alice and bob', async () => (await presence(page))?.viewers.length === 2, 20_000);
    const seenByBob = (await presence(pb))!;
    expect(seenByBob.viewers.map((v) => [v.user, v.role, v.canType]).sort()).toEqual([
      ['alice', 'control', true],
      ['bob', 'view', false],
    ]);
    expect(seenByBob.recording).toBe(true);
    const aliceSession = seenByBob.viewers.find((v) => v.user === 'alice')!.session;
    await until("the KVM on alice's canvas", async () => (await ocr((await liveFrame(pa)).png)).length > 0, 30_000);

    const before = await liveFrame(pa);
    const typedFrom = Date.now();
    await typeInto(pb, 'xyz');
    await typeInto(pa, TYPED);
    await until("alice's keys at the BMC", async () => emu.state().typed.includes(TYPED), 20_000);
    const typedTo = Date.now();
    // Bob's keys went first: had any passed, they would be at the BMC by now.
    expect(emu.state().typed).not.toMatch(/[xyz]/);
    expect((await presence(pb))!.lastInput?.user).toBe('alice');
    // The screen settles (the glyphs drawn, relayed and flipped), then a frame that shows them.
    await until(
      "the typed text on alice's canvas",
      async () => containsApprox(await ocr((await liveFrame(pa)).png), TYPED),
      20_000,
    );
    const after = await liveFrame(pa);

    // An exclusive link: carol holds control; alice's keys are dropped until carol hands control to her.
    const carol = await stack.agent.url(NODE, { user: 'carol', exclusive: true });
    const pc = await openViewer(browser, carol.url);
    const exclusive = await until(
      'carol holding control',
      async () => {
        const p = await presence(pc);
        return p?.exclusive && p.viewers.find((v) => v.session === p.holder)?.user === 'carol' ? p : null;
      },
      20_000,
    );
    expect(exclusive.viewers.find((v) => v.user === 'alice')?.canType).toBe(false);
    await typeInto(pa, 'q');
    await typeInto(pc, 'k');
    await until("carol's key at the BMC", async () => emu.state().typed.includes('k'), 20_000);
    expect(emu.state().typed).not.toContain('q');

    await pc.locator('#presence-toggle').click();
    await pc.locator(`button.hand-over[data-to="${aliceSession}"]`).click();
    await until('alice holding control', async () => (await presence(pa))?.holder === aliceSession, 20_000);
    await typeInto(pa, 'd');
    await typeInto(pc, 'm');
    await until("alice's key at the BMC after the hand-over", async () => emu.state().typed.includes('d'), 20_000);
    expect(emu.state().typed).not.toContain('m');

    // A client that ignores its role (raw RFB over the websocket with bob's view-only link): the proxy drops its
    // keys and clicks and counts them.
    const bridge = await startWsBridge(wsUrlOf(bob.url, stack.proxy.url), { Origin: stack.proxy.url });
    const raw = await RfbClient.connect({ host: '127.0.0.1', port: bridge.port, timeoutMs: 15_000 });
    const clicks = emu.state().clicks.length;
    await raw.typeText('zz9');
    raw.pointerEvent(10, 10, 1);
    raw.pointerEvent(10, 10, 0);
    await until(
      'the proxy counting the dropped input',
      async () => {
        const m = await (await fetch(`${stack.proxy.url}/metrics`)).text();
        return Number(/bmc_proxy_input_dropped_total\{reason="view-only"\} (\d+)/.exec(m)?.[1] ?? 0) >= 8;
      },
      20_000,
    );
    expect(emu.state().clicks.length).toBe(clicks);
    await typeInto(pa, 'r');
    await until("alice's key after the raw client's", async () => emu.state().typed.includes('r'), 20_000);
    expect(emu.state().typed).not.toContain('zz9');
    raw.close();
    await bridge.close();

    for (const p of [pa, pb, pc]) await p.close();

    // The recordings: one per session, listed through the proxy for a token of this node.
    const api = `${stack.proxy.url}/api/recordings?node=${NODE}&token=${encodeURIComponent(tokenOf(alice.url))}`;
    const list = await until(
      'four finished recordings (alice, bob twice, carol)',
      async () => {
        const r = (await (await fetch(api)).json()) as {
          recordings: { id: string; user: string | null; start: string; complete: boolean }[];
        };
        return r.recordings.filter((x) => x.complete).length >= 4 ? r.recordings : null;
      },
      20_000,
    );
    const aliceRec = list.find((r) => r.user === 'alice')!;
    const bobRec = list.find((r) => r.user === 'bob')!;
    // Replay times count from the recording's start (the proxy's clock, this machine's).
    const start = Date.parse(aliceRec.start);

    const replay = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await replay.goto(
      `${stack.proxy.url}/replay.html#node=${NODE}&token=${tokenOf(alice.url)}&recording=${aliceRec.id}`,
    );
    await replay.waitForFunction(() => (window as unknown as { bmcReplay?: ReplayApi }).bmcReplay?.state === 'ready');
    const frameAt = async (ms: number) => {
      await replay.evaluate(
        (t) => (window as unknown as { bmcReplay: { seek(t: number): Promise<void> } }).bmcReplay.seek(t),
        ms,
      );
      const url = await replay.evaluate(() =>
        (window as unknown as { bmcReplay: { frameDataUrl(): string } }).bmcReplay.frameDataUrl(),
      );
      return Buffer.from(url.split(',')[1]!, 'base64');
    };
    const replayBefore = await frameAt(before.at - start);
    const replayAfter = await frameAt(after.at - start);
    const changed = differingShare(before.png, after.png);
    expect(changed, 'the typed text changes the live frame').toBeGreaterThan(0);
    // Same frames as live, up to the clock's second if it ticked between the capture and the proxy's byte.
    expect(differingShare(replayBefore, before.png)).toBeLessThan(0.01);
    expect(differingShare(replayAfter, after.png)).toBeLessThan(0.01);
    const [textBefore, textAfter] = [await ocr(replayBefore), await ocr(replayAfter)];
    expect(containsApprox(textBefore, TYPED), `OCR of the replay before typing: ${textBefore}`).toBe(false);
    expect(containsApprox(textAfter, TYPED), `OCR of the replay after typing: ${textAfter}`).toBe(true);

    // The timeline: alice's keys at the times they were typed, her dropped 'q' marked.
    const events = await replay.evaluate(() => (window as unknown as { bmcReplay: ReplayApi }).bmcReplay.events);
    const keys = events.filter((e) => e.text.length === 1 && `${TYPED}qd`.includes(e.text) && e.user === 'alice');
    expect(
      keys
        .filter((e) => !e.dropped)
        .map((e) => e.text)
        .join(''),
    ).toContain(TYPED);
    for (const e of keys.filter((k) => TYPED.includes(k.text))) {
      expect(e.t).toBeGreaterThanOrEqual(typedFrom - start - 1000);
      expect(e.t).toBeLessThanOrEqual(typedTo - start + 1000);
    }
    // Alice's 'q' while carol held control: her viewer knew from presence and sent nothing.
    expect(keys.some((e) => e.text === 'q' && !e.dropped)).toBe(false);

    // No recording holds a token or the console's VNC password.
    const vncPassword = (await stack.agent.store.read()).consoles[NODE]?.vncPassword;
    expect(vncPassword).toBeTruthy();
    for (const f of readdirSync(stack.recordingsDir).filter((n) => n.endsWith('.bmcrec'))) {
      const text = readFileSync(join(stack.recordingsDir, f)).toString('latin1');
      for (const secret of [tokenOf(alice.url), tokenOf(bob.url), tokenOf(carol.url), vncPassword!])
        expect(text.includes(secret), `${f} holds a secret`).toBe(false);
    }

    // A view-only link may not replay: the timeline would show every key the controllers typed.
    const asBob = await fetch(
      `${stack.proxy.url}/api/recordings?node=${NODE}&token=${encodeURIComponent(tokenOf(bob.url))}`,
    );
    expect(asBob.status).toBe(403);

    // Altered on disk: refused with a clear message.
    const file = join(stack.recordingsDir, `${bobRec.id}.bmcrec`);
    const bytes = readFileSync(file);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x55;
    writeFileSync(file, bytes);
    await replay.goto('about:blank');
    await replay.goto(`${stack.proxy.url}/replay.html#node=${NODE}&token=${tokenOf(carol.url)}&recording=${bobRec.id}`);
    const err = await until(
      'the replay page refusing the altered recording',
      async () =>
        replay.evaluate(() => {
          const r = (window as unknown as { bmcReplay: ReplayApi }).bmcReplay;
          return r.state === 'error' ? r.error : null;
        }),
      20_000,
    );
    expect(err).toMatch(/altered|changed/);
    expect(readdirSync(stack.recordingsDir).filter((f) => f.endsWith('.bmcrec'))).toHaveLength(4);
    await replay.close();
  }, 240_000);
});

/** The token inside the agent's console URL (Ironic's form: ?path=websockify%3Fnode%3D...%26token%3D...). */
function tokenOf(url: string): string {
  const path = new URL(url).searchParams.get('path')!;
  return new URLSearchParams(path.split('?')[1]).get('token')!;
}

/** The websocket the viewer would open for a console URL, on the proxy that serves it. */
function wsUrlOf(url: string, proxyUrl: string): string {
  return `${proxyUrl.replace(/^http/, 'ws')}/websockify?node=${NODE}&token=${encodeURIComponent(tokenOf(url))}`;
}
