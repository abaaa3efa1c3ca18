/**
 * A hostile BMC: the emulator's pages (KVM page, and the login page in a frame of it) try from inside a real console's
 * Chromium to reach the host agent's API (also on TCP 127.0.0.1 here), the proxy (127.0.0.1), another console's VNC
 * port, local files, popups, downloads, Chromium's insecure-form warning and DevTools, on every address of this
 * machine. Each attempt must fail, the agent and the proxy must see no connection from the console, and the console
 * must stay usable through the proxy, also after the KVM page opened a window on the viewer's click.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer, type Server, type Socket } from 'node:net';
import type { RunningEmulator } from '@bmc-console/bmc-emulator/emulator';
import { hostAddresses } from '@bmc-console/bmc-emulator/host-address';
import type { HostileAttempt, HostileSnapshot } from '@bmc-console/bmc-emulator/hostile';
import { kvmMarkerColor } from '@bmc-console/bmc-emulator/marker';
import type { ProfileName } from '@bmc-console/bmc-emulator/profiles';
import { RfbClient } from '@bmc-console/common/rfb/client';
import { buildApi, listenApi } from '@bmc-console/host-agent/api';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleImageMissing } from '../src/preconditions.js';
import { findColourBlock } from '../src/screen.js';
import { until } from '../src/until.js';
import { containerName, podman } from './lib/podman.js';
import { noteSecret, record, REL_OUT } from './lib/record.js';
import {
  consoleEndpoint,
  consoleFrame,
  REL_PASSWORD,
  rgbaToPng,
  screenText,
  showsKvm,
  startRelStack,
  type RelStack,
} from './lib/rel-stack.js';
import { openWs, wsUrlOf } from './lib/ws-viewer.js';

const skip = consoleImageMissing();
if (skip) console.warn(`skipping the hostile-BMC reliability tests: ${skip}`);
const HOSTILE = 'rel-h-hostile';
/** The hostile BMC's emulator profile (HOSTILE_PROFILE=ami, ilo4, ...: another vendor's pages and launch path). */
const PROFILE = (process.env.HOSTILE_PROFILE ?? 'idrac9') as ProfileName;
const OTHER = 'rel-h-other';

/** Attempts at the console itself (windows, files, downloads, DevTools, the insecure-form warning), not at the network. */
const LOCAL_KINDS = /^(window-open|file-|devtools-|chrome-|download-|form-insecure-)/;

/** A connection one of this process's servers accepted (agent API, proxy, emulators): which port, from where, when. */
interface Accepted {
  port: number;
  from: string;
  at: number;
}

/** Keeps a file of the run's output directory (the attempts, screens) for a closer look. */
function keep(name: string, body: string | Buffer): void {
  mkdirSync(join(REL_OUT, 'shots'), { recursive: true });
  writeFileSync(join(REL_OUT, 'shots', name), body);
}

/** "fetch-cors 3, xhr 3" style summary of attempts. */
function byKind(attempts: HostileAttempt[]): string {
  const n = new Map<string, number>();
  for (const a of attempts) n.set(a.kind, (n.get(a.kind) ?? 0) + 1);
  return [...n].map(([k, c]) => `${k} ${c}`).join(', ');
}

/** A local TCP port whose connections are relayed to the proxy's websocket, so an RFB client can watch through the proxy. */
async function proxyBridge(wsUrl: string): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.pause();
    openWs(wsUrl).then(
      (ws) => {
        ws.on('message', (d: Buffer) => sock.write(d));
        ws.on('close', () => sock.destroy());
        sock.on('data', (d) => ws.send(d, { binary: true }));
        sock.on('close', () => ws.close());
        sock.resume();
      },
      () => sock.destroy(),
    );
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describe.skipIf(skip)('hostile BMC', () => {
  let stack: RelStack;
  let hostileEmu: RunningEmulator;
  let tcpApi: FastifyInstance;
  let apiPort = 0;
  let otherVncPort = 0;
  let hosts: string[] = [];
  let snapshot: HostileSnapshot;
  let phaseOneEnd = 0;
  const accepted: Accepted[] = [];
  const onSocket = (m: unknown) => {
    const s = (m as { socket: Socket }).socket;
    accepted.push({ port: s.localPort ?? 0, from: s.remoteAddress ?? '?', at: Date.now() });
  };

  beforeAll(async () => {
    subscribe('net.server.socket', onSocket);
    stack = await startRelStack('hostile');
    // The agent's API on TCP loopback too (next to the stack's unix socket), with an API key the page cannot know.
    const apiKey = randomBytes(24).toString('base64url');
    noteSecret(apiKey);
    tcpApi = buildApi(stack.agent, { listen: { kind: 'tcp', host: '127.0.0.1', port: 0 }, apiKey });
    apiPort = Number(new URL(await listenApi(tcpApi, { kind: 'tcp', host: '127.0.0.1', port: 0 })).port);

    // A second console whose published VNC port the hostile page aims at.
    const otherEmu = await stack.emulator('idrac9', { node: OTHER, password: REL_PASSWORD });
    await stack.startConsole(OTHER, otherEmu);
    otherVncPort = (await consoleEndpoint(stack, OTHER)).port;

    // Every address of this machine; 10.0.2.2 is the host's loopback only when a console gets it (slirp4netns).
    const network = stack.agent.config.container_network;
    hosts = ['127.0.0.1', ...(network.startsWith('slirp4netns') ? ['10.0.2.2'] : []), ...hostAddresses({ ipv6: true })];
    hostileEmu = await stack.emulator(PROFILE, {
      node: HOSTILE,
      password: REL_PASSWORD,
      hostile: { hosts, ports: [apiPort, stack.proxy.port, otherVncPort], nodes: [OTHER, HOSTILE] },
    });
    await stack.startConsole(HOSTILE, hostileEmu);
    // The KVM page opens for a viewer: watch the console directly (not through the proxy, which must stay untouched).
    await until(
      `the hostile ${PROFILE} KVM on the console`,
      () => showsKvm(stack, HOSTILE, PROFILE),
      300_000,
      1000,
    ).catch(async (err: unknown) => {
      keep('hostile-no-kvm.png', rgbaToPng(await consoleFrame(stack, HOSTILE)));
      throw err;
    });
    // A page replaced by Chromium's insecure-form warning reports nothing more: its "reached" standing for 20 s ends the wait.
    let replacedSince = 0;
    await until(
      'the hostile KVM page and its login frame to finish their attempts',
      () => {
        const h = hostileEmu.state().hostile;
        const done = h?.pages.filter((p) => p.done) ?? [];
        const replaced = h?.attempts.some((a) => a.kind === 'form-insecure-top' && a.outcome === 'reached');
        replacedSince = replaced ? replacedSince || Date.now() : 0;
        if (replacedSince && Date.now() - replacedSince > 20_000) return true;
        return done.some((p) => !p.page.startsWith('frame:')) && done.some((p) => p.page.startsWith('frame:'));
      },
      300_000,
      1000,
    );
    // A popup's or download's own request may land a moment after the page said "done".
    await new Promise((r) => setTimeout(r, 2000));
    snapshot = hostileEmu.state().hostile!;
    phaseOneEnd = Date.now();
    keep('hostile-attempts.json', JSON.stringify(snapshot, null, 1));
  }, 900_000);

  afterAll(async () => {
    unsubscribe('net.server.socket', onSocket);
    await tcpApi?.close().catch(() => undefined);
    await stack?.close();
  });

  it('a hostile BMC page reaches neither the agent API, the proxy nor another console, on any address of this machine', () => {
    const network = snapshot.attempts.filter((a) => !LOCAL_KINDS.test(a.kind));
    const reached = network.filter((a) => a.outcome === 'reached');
    const ours = new Set([apiPort, stack.proxy.port]);
    const seen = accepted.filter((c) => ours.has(c.port) && c.at <= phaseOneEnd);
    record({
      test: 'a hostile BMC page reaches neither the agent API, the proxy nor another console, on any address of this machine',
      area: 'isolation',
      tried:
        `${PROFILE} console (container_network ${stack.agent.config.container_network}) against an emulator in hostile mode: ${network.length} attempts from ` +
        `${snapshot.pages.map((p) => `${p.page} (${p.attempts})`).join(', ')} at ${hosts.join(', ')} × ports ${[apiPort, stack.proxy.port, otherVncPort].join('/')} ` +
        `(agent API TCP / proxy / other console VNC) and guessed ones: ${byKind(network)}`,
      held:
        `reached: ${
          reached.length
            ? reached
                .slice(0, 8)
                .map((a) => `${a.kind} ${a.target} (${a.detail})`)
                .join('; ')
            : 'none'
        }; ` +
        `connections the agent API and proxy accepted meanwhile: ${seen.length}${
          seen.length
            ? ` (${seen
                .slice(0, 5)
                .map((c) => `${c.from} -> :${c.port}`)
                .join(', ')})`
            : ''
        }; ` +
        `forms and elements whose outcome a page cannot see: ${network.filter((a) => a.outcome === 'unknown').length} (covered by the connection count)`,
    });
    expect(snapshot.pages.some((p) => p.done && !p.page.startsWith('frame:'))).toBe(true);
    expect(network.length).toBeGreaterThan(hosts.length * 6 * 10);
    expect(reached).toEqual([]);
    expect(seen).toEqual([]);
  });

  it("a hostile BMC page gets no popup, no download on the console's disk, no local file and no DevTools", async () => {
    const local = snapshot.attempts.filter((a) => LOCAL_KINDS.test(a.kind));
    const reached = local.filter((a) => a.outcome === 'reached');
    // The download's marker text anywhere the browser could have saved it.
    const found = await podman([
      'exec',
      containerName(HOSTILE),
      'sh',
      '-c',
      `timeout 60 grep -rlF '${snapshot.downloadMarker}' /tmp /home /root /var/tmp /run /dev/shm 2>/dev/null | head -5; true`,
    ]).then(
      (r) => r.stdout.trim().split('\n').join(', '),
      (e: unknown) => `podman exec failed: ${(e as Error).message}`,
    );
    const frame = await consoleFrame(stack, HOSTILE);
    keep('hostile-after-attempts.png', rgbaToPng(frame));
    const text = await screenText(frame);
    const passwdOnScreen = /root:x?:0:0|daemon:x?:1:1/.test(text);
    const popupOnScreen = /POPUP FROM THE BMC/i.test(text);
    const formWarningOnScreen = /not secure|about to submit/i.test(text);
    const kvmOnScreen = await showsKvm(stack, HOSTILE, PROFILE);
    record({
      test: "a hostile BMC page gets no popup, no download on the console's disk, no local file and no DevTools",
      area: 'isolation',
      tried: `${local.length} attempts: ${byKind(local)}; the popup page was requested ${snapshot.popupLoads} time(s) (a window opened and closed again counts), the download ${snapshot.downloadRequests} time(s)`,
      held:
        `reached: ${reached.length ? reached.map((a) => `${a.kind} ${a.target} (${a.detail})`).join('; ') : 'none'}; download marker on the console's disk: ${found || 'none'}; ` +
        `/etc/passwd on the screen (OCR): ${passwdOnScreen}; popup on the screen: ${popupOnScreen}; insecure-form warning on the screen: ${formWarningOnScreen}; ` +
        `the KVM on the screen: ${kvmOnScreen}`,
    });
    expect(reached).toEqual([]);
    expect(found).toBe('');
    expect(passwdOnScreen).toBe(false);
    expect(popupOnScreen).toBe(false);
    expect(formWarningOnScreen).toBe(false);
    expect(kvmOnScreen).toBe(true);
  });

  it('after the hostile page, the console is still usable: a viewer through the proxy sees the KVM and typed keys reach the BMC', async () => {
    const { url } = await stack.agent.url(HOSTILE);
    const bridge = await proxyBridge(wsUrlOf(url, stack.proxy.url));
    let client: RfbClient | undefined;
    try {
      client = await RfbClient.connect({ host: '127.0.0.1', port: bridge.port, timeoutMs: 15_000 });
      const c = client;
      const colour = kvmMarkerColor(PROFILE);
      const frameOf = () => ({ width: c.width, height: c.height, rgba: Buffer.from(c.framebuffer) });
      const at = await until(
        'the KVM through the proxy',
        async () => {
          await c.requestUpdate(false);
          return findColourBlock(frameOf(), colour, 12);
        },
        120_000,
        500,
      ).catch((err: unknown) => {
        keep('hostile-through-proxy.png', rgbaToPng(frameOf()));
        throw err;
      });
      c.pointerEvent(Math.round(c.width / 2), Math.round(c.height / 2), 1);
      c.pointerEvent(Math.round(c.width / 2), Math.round(c.height / 2), 0);
      // The hostile KVM page opened a window on that click (a real user activation): the console must have closed it,
      // and the keys typed after it must still reach the KVM.
      const clickPopup = await until(
        "the KVM page's window.open on the viewer's click",
        () => hostileEmu.state().hostile?.attempts.find((a) => a.kind === 'window-open-click') ?? null,
        30_000,
        250,
      ).catch((e: unknown) => ({ outcome: 'not reported', detail: (e as Error).message }));
      await c.requestUpdate(false);
      await new Promise((r) => setTimeout(r, 1000));
      await c.requestUpdate(false);
      const kvmAfterClick = findColourBlock(frameOf(), colour, 12) !== null;
      const typedBefore = hostileEmu.state().typed.length;
      await c.typeText('hostile 7');
      const typed = await until(
        'typed keys at the emulated host',
        () => {
          const t = hostileEmu.state().typed.slice(typedBefore);
          return t.includes('hostile 7') ? t : null;
        },
        30_000,
        250,
      ).catch((e: unknown) => `not seen: ${(e as Error).message}`);
      const guardLog = await podman(['logs', containerName(HOSTILE)]).then(
        (r) => `${r.stdout}${r.stderr}`,
        () => '',
      );
      const popupsClosed = guardLog.split('\n').filter((l) => l.includes('popup closed')).length;
      const fromConsole = accepted.filter(
        (a) =>
          (a.port === apiPort || a.port === stack.proxy.port) &&
          a.at > phaseOneEnd &&
          a.from !== '127.0.0.1' &&
          a.from !== '::ffff:127.0.0.1',
      );
      record({
        test: 'after the hostile page, the console is still usable: a viewer through the proxy sees the KVM and typed keys reach the BMC',
        area: 'isolation',
        tried:
          'an RFB viewer through the proxy\'s websocket (fresh console URL), a click in the middle (the hostile KVM page opens a window on it), then "hostile 7" typed once that window is gone',
        held:
          `KVM marker through the proxy at ${at.x},${at.y}; typed at the BMC: ${JSON.stringify(typed)}; the click's window: ${clickPopup.outcome} (${clickPopup.detail}), ` +
          `"popup closed" lines in the console log: ${popupsClosed}; the KVM on the screen after it: ${kvmAfterClick}; connections to the agent API or proxy from anything but loopback: ${fromConsole.length}`,
      });
      expect(typed).toContain('hostile 7');
      expect(clickPopup.outcome).toBe('failed');
      expect(kvmAfterClick).toBe(true);
      expect(fromConsole).toEqual([]);
    } finally {
      client?.close();
      await bridge.close();
    }
  });
});
