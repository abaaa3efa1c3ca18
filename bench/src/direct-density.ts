/**
 * Density of direct consoles: K emulators (a fleet in a child process), one watched viewer per console through one
 * proxy, all live at once; the proxy's CPU and PSS, per console. The PSS growth over the proxy's idle PSS is also the
 * direct side of "memory per watched console".
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { kvmMarkerColor } from '@bmc-console/bmc-emulator/marker';
import type { DirectVendor } from '@bmc-console/common/contracts/direct-target';
import { bundleEntry } from './bundle.js';
import { startNodeChild, type Child } from './child-process.js';
import type { DirectProxy } from './direct-proxy.js';
import type { DirectDensity } from './direct-results.js';
import { ProxyViewer } from './direct-viewer.js';
import type { FleetReady } from './emulator-fleet.js';
import { treeCpuSeconds, treeMemory } from './process-memory.js';
import { round } from './stats.js';
import { selfSignedTls } from './tls-files.js';

const log = (msg: string): void => void process.stderr.write(`bench: ${msg}\n`);
/** Viewers opened at once: like people opening consoles, not one connection storm. */
const OPEN_BATCH = 10;
const GC_SETTLE_MS = 2000;

async function proxyPssAfterGc(proxy: DirectProxy): Promise<number> {
  proxy.collectGarbage();
  await sleep(GC_SETTLE_MS);
  return treeMemory(proxy.pid).pssKiB;
}

/** Starts the fleet: `count` emulators of `vendor`, all with one certificate and one password. */
async function startFleet(
  vendor: DirectVendor,
  count: number,
  password: string,
): Promise<{ fleet: Child; ready: FleetReady; tlsDir: string }> {
  const tls = await selfSignedTls();
  try {
    const script = await bundleEntry('emulator-fleet');
    const fleet = await startNodeChild('emulator-fleet', script, [vendor, String(count)], {
      env: {
        ...process.env,
        BENCH_FLEET_CERT_FILE: tls.certFile,
        BENCH_FLEET_KEY_FILE: tls.keyFile,
        BMC_EMULATOR_PASSWORD: password,
      },
    });
    return { fleet, ready: fleet.info as unknown as FleetReady, tlsDir: tls.dir };
  } catch (err) {
    rmSync(tls.dir, { recursive: true, force: true });
    throw err;
  }
}

export async function measureDensity(
  proxy: DirectProxy,
  vendor: DirectVendor,
  goal: number,
  windowSec: number,
): Promise<{ density: DirectDensity; pssBeforeKiB: number; pssAfterKiB: number }> {
  const loadBefore = round(loadavg()[0]!, 2);
  const password = `Bench-${randomBytes(6).toString('hex')}`;
  const { fleet, ready, tlsDir } = await startFleet(vendor, goal, password);
  const colour = kvmMarkerColor(vendor);
  const viewers: ProxyViewer[] = [];
  const errors: string[] = [];
  let sawMarker = 0;
  try {
    const pssBeforeKiB = await proxyPssAfterGc(proxy);
    const nodes = ready.emulators.map((e, i) => {
      const node = `bench-density-${i + 1}`;
      proxy.agent.setDirect(node, { vendor, address: e.url, username: e.username, password, verifyCa: false });
      return node;
    });
    for (let i = 0; i < nodes.length; i += OPEN_BATCH) {
      log(`direct density: opening consoles ${i + 1}-${Math.min(i + OPEN_BATCH, nodes.length)} of ${nodes.length}`);
      await Promise.all(
        nodes.slice(i, i + OPEN_BATCH).map(async (node) => {
          try {
            const v = await ProxyViewer.open(proxy.wsBase, node, 60_000);
            viewers.push(v);
            await v.waitForMarker(colour, 60_000);
            sawMarker++;
            v.keepWatching();
          } catch (err) {
            errors.push((err as Error).message);
          }
        }),
      );
    }
    log(`direct density: ${viewers.length} watched; settling 10 s, then ${windowSec} s of measurement`);
    await sleep(10_000);
    const cpu0 = { proxy: treeCpuSeconds(proxy.pid), fleet: treeCpuSeconds(fleet.pid), bench: process.cpuUsage() };
    const updates0 = viewers.reduce((n, v) => n + v.updates, 0);
    const t0 = performance.now();
    await sleep(windowSec * 1000);
    const elapsed = (performance.now() - t0) / 1000;
    const pct = (sec: number): number => round((sec / elapsed) * 100, 1);
    const proxyCpu = pct(treeCpuSeconds(proxy.pid) - cpu0.proxy);
    const fleetCpu = pct(treeCpuSeconds(fleet.pid) - cpu0.fleet);
    const bench = process.cpuUsage(cpu0.bench);
    const viewersCpu = pct((bench.user + bench.system) / 1e6);
    const updatesInWindow = viewers.reduce((n, v) => n + v.updates, 0) - updates0;
    const pssAfterKiB = await proxyPssAfterGc(proxy);
    let showingMarkerAtEnd = 0;
    for (let i = 0; i < viewers.length; i += OPEN_BATCH) {
      const seen = await Promise.all(viewers.slice(i, i + OPEN_BATCH).map((v) => v.showsMarkerNow(colour)));
      showingMarkerAtEnd += seen.filter(Boolean).length;
    }
    const n = Math.max(1, viewers.length);
    return {
      pssBeforeKiB,
      pssAfterKiB,
      density: {
        profile: vendor,
        goal,
        opened: viewers.length,
        sawMarker,
        showingMarkerAtEnd,
        proxyCpuPercent: proxyCpu,
        proxyCpuPercentPerConsole: round(proxyCpu / n, 3),
        fleetCpuPercent: fleetCpu,
        viewersCpuPercent: viewersCpu,
        windowSec,
        proxyPssMiB: round(pssAfterKiB / 1024, 1),
        proxyPssPerConsoleKiB: round((pssAfterKiB - pssBeforeKiB) / n, 1),
        updatesInWindow,
        loadAverage: { before: loadBefore, after: round(loadavg()[0]!, 2) },
        // The same cause for many consoles is one line.
        errors: [...new Set(errors.map((e) => e.replace(/bench-density-\d+/g, '<node>')))].slice(0, 5),
      },
    };
  } finally {
    for (const v of viewers) v.close();
    await fleet.stop();
    rmSync(tlsDir, { recursive: true, force: true });
  }
}
