/**
 * Start -> first KVM picture for direct consoles (a viewer opens the proxy's websocket: token check, BMC login, KVM
 * socket, RFB handshakes, the first update with the marker) against a console container's cold start (the podman
 * provider's start call -> a VNC client sees the marker), runs interleaved. Each container run also yields the
 * cgroup memory of a watched console.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { startEmulator, type RunningEmulator } from '@bmc-console/bmc-emulator/emulator';
import { hostAddress } from '@bmc-console/bmc-emulator/host-address';
import { kvmMarkerColor, showsMarker } from '@bmc-console/bmc-emulator/marker';
import type { DirectVendor } from '@bmc-console/common/contracts/direct-target';
import { createLogger } from '@bmc-console/common/log';
import { RfbClient } from '@bmc-console/common/rfb/client';
import { type BenchProvider, podmanProvider } from './podman-provider.js';
import { cgroupMemory, findCgroupDir } from './cgroup-stats.js';
import type { DirectAgent } from './direct-agent.js';
import type { DirectProxy } from './direct-proxy.js';
import type { StartSeries } from './direct-results.js';
import { ProxyViewer } from './direct-viewer.js';
import { median, round } from './stats.js';
import { containerId, podman } from './viewer-stack.js';

const CONTAINER_PROFILE = 'idrac9';
const READY_TIMEOUT_SEC = 120;
/** A watched container's memory is read after this long with the KVM on screen (its Chromium settles). */
const CONTAINER_SETTLE_MS = 10_000;
const benchRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const log = (msg: string): void => void process.stderr.write(`bench: ${msg}\n`);

type Colour = { r: number; g: number; b: number };

type Provider = BenchProvider;

interface ContainerMemory {
  usageMiB: number;
  rssMiB: number;
  cacheMiB: number;
}

/** Seconds from a run's start to each step, over the runs of one series. */
class Series {
  readonly runs: number[] = [];
  private readonly steps = new Map<string, number[]>();

  constructor(
    readonly mode: 'direct' | 'container',
    readonly profile: string,
    readonly agentStart = false,
  ) {}

  add(totalSec: number, steps: [string, number][]): void {
    this.runs.push(totalSec);
    for (const [step, sec] of steps) this.steps.set(step, [...(this.steps.get(step) ?? []), sec]);
  }

  result(): StartSeries {
    return {
      mode: this.mode,
      profile: this.profile,
      agentStart: this.agentStart,
      runsSec: this.runs.map((v) => round(v, 3)),
      ...(this.runs.length ? { medianSec: round(median(this.runs), 3) } : {}),
      steps: [...this.steps.entries()]
        .map(([step, v]) => ({
          step: v.length === this.runs.length ? step : `${step} (${v.length} of ${this.runs.length} runs)`,
          medianSec: round(median(v), 3),
        }))
        .sort((a, b) => a.medianSec - b.medianSec),
    };
  }
}

/** The host agent's podman provider, as console-bench.ts and viewer-stack.ts load it; undefined without it. */
async function loadProvider(): Promise<Provider | undefined> {
  try {
    return await podmanProvider('bmc-bench-direct');
  } catch (err) {
    log(`direct: the podman provider cannot be loaded: ${(err as Error).message}`);
    return undefined;
  }
}

/**
 * One direct run: a fresh BMC and node, a viewer through the proxy, until the marker shows. With `agent`, the run
 * starts with the agent's start call and the proxy gets the target the agent made (with its certificate pin).
 */
async function directRun(
  proxy: DirectProxy,
  vendor: DirectVendor,
  node: string,
  agent: DirectAgent | undefined,
): Promise<[number, [string, number][]]> {
  const password = `Bench-${randomBytes(6).toString('hex')}`;
  const emu = await startEmulator({ vendor, node, password, logger: createLogger('bench-emu', { level: 'error' }) });
  let viewer: ProxyViewer | undefined;
  let agentStarted = false;
  try {
    const t0 = Date.now();
    const steps: [string, number][] = [];
    if (agent) {
      const target = await agent.start(node, { address: emu.url, username: emu.username, password });
      agentStarted = true;
      steps.push(['agent start() returned (Redfish discovery, certificate pin)', (Date.now() - t0) / 1000]);
      proxy.agent.setDirect(node, target);
    } else proxy.agent.setDirect(node, { vendor, address: emu.url, username: emu.username, password, verifyCa: false });
    viewer = await ProxyViewer.open(proxy.wsBase, node, 60_000);
    const marker = await viewer.waitForMarker(kvmMarkerColor(vendor), 60_000);
    const t = viewer.times;
    const s = (at: number): number => (at - t0) / 1000;
    steps.push(
      ['proxy accepted the websocket (token verified)', s(t.wsOpen)],
      ['RFB ServerInit to the viewer (BMC login, KVM socket, both handshakes)', s(t.rfbReady)],
      ['first update with the KVM marker', s(marker)],
    );
    return [s(marker), steps];
  } finally {
    viewer?.close();
    await untilNoKvm(emu);
    proxy.agent.remove(node);
    if (agentStarted) await agent?.stop(node).catch(() => undefined);
    await emu.close();
  }
}

/** The proxy closes the BMC's KVM socket and logs out when its viewer leaves: waits for it (bounded) before the next run. */
async function untilNoKvm(emu: RunningEmulator): Promise<void> {
  const deadline = Date.now() + 5000;
  while (emu.state().liveKvmSessions > 0 && Date.now() < deadline) await sleep(50);
}

/** Holds one VNC connection to a container's x11vnc and asks for updates until the marker shows. */
async function containerPicture(endpoint: { host: string; port: number }, password: string, colour: Colour) {
  const deadline = Date.now() + READY_TIMEOUT_SEC * 1000;
  let client: RfbClient | undefined;
  while (Date.now() < deadline) {
    try {
      client ??= await RfbClient.connect({ ...endpoint, password, timeoutMs: 5000 });
      await client.requestUpdate(true);
      if (showsMarker(client.framebuffer, colour)) return { seen: Date.now(), client };
    } catch {
      if (client && (client as unknown as { closed?: boolean }).closed) client = undefined;
      await sleep(50);
    }
  }
  client?.close();
  throw new Error(`no KVM picture on the container within ${READY_TIMEOUT_SEC} s`);
}

/** One container run: a fresh emulator and container; a watching client stays for CONTAINER_SETTLE_MS, then memory. */
async function containerRun(
  provider: Provider,
  node: string,
): Promise<[number, [string, number][], ContainerMemory | undefined]> {
  // Containers do not reach the host's loopback: the emulator listens on the interface address.
  const emu = await startEmulator({
    vendor: CONTAINER_PROFILE,
    host: hostAddress(),
    port: 0,
    node,
    logger: createLogger('bench-emu', { level: 'error' }),
  });
  const vncPassword = randomBytes(4).toString('hex');
  const appInfo = {
    address: emu.url,
    username: emu.username,
    password: emu.password,
    verify_ca: false,
    node_uuid: node,
  };
  let started = false;
  let client: RfbClient | undefined;
  try {
    const t0 = Date.now();
    const endpoint = await provider.start({ node, app: 'redfish-graphical', appInfo, readOnly: false, vncPassword });
    started = true;
    const tGreeting = Date.now();
    const picture = await containerPicture(endpoint, vncPassword, kvmMarkerColor(CONTAINER_PROFILE));
    client = picture.client;
    const s = (at: number): number => (at - t0) / 1000;
    const steps: [string, number][] = [
      ['provider start() returned (RFB greeting)', s(tGreeting)],
      ['VNC client sees the KVM marker', s(picture.seen)],
    ];
    // Watched as noVNC does: a request outstanding at all times.
    const watcher = client;
    void (async () => {
      let open = true;
      watcher.once('close', () => (open = false));
      while (open) await watcher.requestUpdate(true).catch(() => sleep(500));
    })();
    await sleep(CONTAINER_SETTLE_MS);
    return [s(picture.seen), steps, await containerMemory(node)];
  } finally {
    client?.close();
    if (started) await provider.stop(node).catch(() => podman(['rm', '--force', '--time', '2', `bmc-console-${node}`]));
    await emu.close();
  }
}

async function containerMemory(node: string): Promise<ContainerMemory | undefined> {
  const id = await containerId(node);
  const dir = id ? findCgroupDir('memory', id) : undefined;
  if (!dir) return undefined;
  const m = cgroupMemory(dir);
  const mib = (b: number): number => round(b / 2 ** 20, 1);
  return { usageMiB: mib(m.usageBytes), rssMiB: mib(m.rssBytes), cacheMiB: mib(m.cacheBytes) };
}

export interface StartsOutcome {
  series: StartSeries[];
  containerMemory: ContainerMemory[];
  notes: string[];
}

/**
 * `runs` rounds; each round runs every series once, the order rotated per round so that no series always follows
 * the same one. `containerUnavailable` names why the container series is left out (no podman, no image).
 */
export async function measureStarts(
  proxy: DirectProxy,
  vendors: DirectVendor[],
  runs: number,
  containerUnavailable: string | undefined,
  agent: DirectAgent | string,
): Promise<StartsOutcome> {
  process.env.CONTAINERS_CONF ??= join(benchRoot, '..', 'deploy', 'containers.conf');
  const notes: string[] = [];
  const provider = containerUnavailable ? undefined : await loadProvider();
  if (typeof agent === 'string') notes.push(`direct from the agent's start call not measured: ${agent}`);
  if (containerUnavailable) notes.push(`container baseline not measured: ${containerUnavailable}`);
  else if (!provider) notes.push('container baseline not measured: the host agent podman provider cannot be loaded');
  const series = [
    ...(provider ? [new Series('container', CONTAINER_PROFILE)] : []),
    ...vendors.map((v) => new Series('direct', v)),
    ...(typeof agent === 'string' ? [] : vendors.map((v) => new Series('direct', v, true))),
  ];
  const memories: ContainerMemory[] = [];
  try {
    for (let round = 1; round <= runs; round++) {
      for (let k = 0; k < series.length; k++) {
        const s = series[(k + round - 1) % series.length]!;
        const name = `${s.mode} ${s.profile}${s.agentStart ? ' from the agent start' : ''}`;
        const node = `bench-${s.mode}${s.agentStart ? '-agent' : ''}-${s.profile}-${round}`;
        log(`direct: start ${round}/${runs}, ${name}`);
        try {
          if (s.mode === 'direct') {
            const withAgent = s.agentStart && typeof agent !== 'string' ? agent : undefined;
            const [total, steps] = await directRun(proxy, s.profile as DirectVendor, node, withAgent);
            s.add(total, steps);
          } else if (provider) {
            const [total, steps, mem] = await containerRun(provider, node);
            s.add(total, steps);
            if (mem) memories.push(mem);
          }
        } catch (err) {
          notes.push(`${name} run ${round}: ${(err as Error).message}`);
          log(`direct: ${name} run ${round} failed: ${(err as Error).message}`);
        }
      }
    }
  } finally {
    await provider?.stopAll().catch(() => undefined);
  }
  return { series: series.map((s) => s.result()), containerMemory: memories, notes };
}
