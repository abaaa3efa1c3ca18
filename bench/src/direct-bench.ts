/**
 * Issue 28: direct consoles (no container: the proxy logs in to the BMC and relays its own RFB) against console
 * containers, in the same run: start -> first KVM picture, memory per watched console, and how many watched direct
 * consoles one proxy holds.
 */
import { loadavg } from 'node:os';
import type { DirectVendor } from '@bmc-console/common/contracts/direct-target';
import { loadDirectAgent } from './direct-agent.js';
import { measureDensity } from './direct-density.js';
import { startDirectProxy } from './direct-proxy.js';
import type { DirectResults } from './direct-results.js';
import { measureStarts } from './direct-starts.js';
import { round } from './stats.js';
import { stackUnavailable } from './viewer-stack.js';

const START_VENDORS: DirectVendor[] = ['idrac9', 'openbmc', 'xcc3'];
/** The density fleet's profile: the same as the container baseline's, and the one with the most proxy work (RGB565). */
const DENSITY_VENDOR: DirectVendor = 'idrac9';

export async function runDirectBench(quick: boolean): Promise<DirectResults> {
  const results: DirectResults = {
    loadAverage: { start: round(loadavg()[0]!, 1), end: 0 },
    setup: [
      "direct: our proxy (bundled, its own process) behind a stand-in agent token endpoint whose verify answer carries `direct` (vendor, address, credentials, verifyCa false); one BMC emulator per run in the benchmark process; the viewer is common's RFB client over the proxy's websocket. Timed from asking for the websocket to the first update showing the marker.",
      "container: the host agent's podman provider starts localhost/bmc-console:latest against an emulator (the cold start console-bench.ts measures); timed from the start call to a VNC client at the container seeing the marker.",
      "direct from the agent start: the same, timed from the host agent's start call (ConsoleAgent in the benchmark process, consoleMode direct, the fake provider: no container; Redfish discovery and the certificate pin), and the proxy gets the target the agent made (pinned certificate), as the container start includes the agent's provider call.",
    ],
    notes: [],
  };
  const runs = quick ? 3 : 10;
  const goal = quick ? 10 : 100;

  const startsProxy = await startDirectProxy(0);
  const agent = await loadDirectAgent();
  try {
    const starts = await measureStarts(startsProxy, START_VENDORS, runs, await stackUnavailable(), agent);
    results.starts = starts.series;
    results.notes!.push(...starts.notes);
    const mems = starts.containerMemory;
    if (mems.length) {
      const mid = (f: (m: (typeof mems)[number]) => number): number =>
        round([...mems.map(f)].sort((a, b) => a - b)[Math.floor((mems.length - 1) / 2)]!, 1);
      results.memory = {
        container: {
          profile: 'idrac9',
          consoles: mems.length,
          usageMiB: mid((m) => m.usageMiB),
          rssMiB: mid((m) => m.rssMiB),
          cacheMiB: mid((m) => m.cacheMiB),
        },
      };
    }
  } finally {
    if (typeof agent !== 'string') await agent.close();
    await startsProxy.stop();
  }

  // A fresh proxy: its idle PSS is not that of a proxy that served the start runs.
  const densityProxy = await startDirectProxy(60);
  try {
    const windowSec = quick ? 10 : 30;
    const { density, pssBeforeKiB, pssAfterKiB } = await measureDensity(densityProxy, DENSITY_VENDOR, goal, windowSec);
    results.density = density;
    const memory = (results.memory ??= {});
    memory.direct = {
      profile: DENSITY_VENDOR,
      consoles: density.opened,
      pssBeforeKiB,
      pssAfterKiB,
      perConsoleKiB: density.proxyPssPerConsoleKiB,
    };
    if (memory.container?.usageMiB)
      memory.ratio = round(density.proxyPssPerConsoleKiB / (memory.container.usageMiB * 1024), 4);
  } catch (err) {
    results.notes!.push(`density: ${(err as Error).message}`);
  } finally {
    await densityProxy.stop();
  }
  results.loadAverage!.end = round(loadavg()[0]!, 1);
  return results;
}
