/**
 * Load: many viewers (RFB clients over the proxy's websocket) on several real consoles for a while; none may be
 * disconnected and each must keep receiving screen updates. Default 50 viewers on 5 consoles for 20 s; --full
 * (REL_FULL=1) 200 viewers on 20 consoles for 60 s.
 */
import type { ProfileName } from '@bmc-console/bmc-emulator/profiles';
import { createLogger } from '@bmc-console/common/log';
import { startApi } from '@bmc-console/host-agent/api';
import { ConsoleAgent } from '@bmc-console/host-agent/console-agent';
import { LABEL_AGENT, LABEL_NODE } from '@bmc-console/host-agent/providers/console-names';
import { startProxy, type RunningProxy } from '@bmc-console/proxy/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleImageMissing } from '../src/preconditions.js';
import { podman } from './lib/podman.js';
import { record } from './lib/record.js';
import { REL_PASSWORD, showsKvm, startRelStack, type RelStack } from './lib/rel-stack.js';
import { SIZES } from './lib/sizes.js';
import { sleep, until } from '../src/until.js';
import { WsViewer, wsUrlOf } from './lib/ws-viewer.js';
import { tempDir } from '@bmc-console/common/testing/temp-dir';

const skip = consoleImageMissing();
if (skip) console.warn(`skipping the load reliability tests: ${skip}`);
const PROFILES: ProfileName[] = [
  'idrac9',
  'ilo5',
  'xcc',
  'openbmc',
  'supermicro-x13',
  'ami',
  'idrac8',
  'ilo6',
  'xcc2',
  'idrac10',
];
const { loadConsoles: CONSOLES, loadViewers: VIEWERS, loadSeconds: SECONDS } = SIZES;
const TEST = `${VIEWERS} viewers on ${CONSOLES} consoles for ${SECONDS} s: no unexpected disconnect, updates keep coming`;

describe.skipIf(skip)('load', () => {
  let stack: RelStack;
  let proxy: RunningProxy;
  const nodes = Array.from({ length: CONSOLES }, (_, i) => `rel-load-${i}`);
  let startSeconds = 0;
  let kvmMissing: string[] = [];

  beforeAll(async () => {
    stack = await startRelStack('load');
    // The stack's proxy keeps its default limits (4 per node); this one allows the load.
    proxy = await startProxy(
      {
        host: '127.0.0.1',
        port: 0,
        agentUrl: stack.agentUrl,
        limits: { maxSessionsTotal: VIEWERS * 2, maxSessionsPerNode: VIEWERS, maxSessionsPerSource: VIEWERS * 2 },
      },
      { logger: createLogger('rel-load-proxy', { level: 'warn' }) },
    );
    const t0 = Date.now();
    // Five at a time: starting twenty Chromiums at once on two cores only makes every start slower.
    for (let i = 0; i < nodes.length; i += 5) {
      await Promise.all(
        nodes.slice(i, i + 5).map(async (node, j) => {
          const profile = PROFILES[(i + j) % PROFILES.length]!;
          // XCC's viewer socket is on a second TLS port with a certificate of its own, which verify_ca=false does
          // not cover: XCC consoles get the emulator's CA bundle, as in the e2e test.
          const xcc = profile.startsWith('xcc');
          const emu = await stack.emulator(profile, {
            node,
            password: REL_PASSWORD,
            ...(xcc ? { caDir: tempDir('rel-ca-') } : {}),
          });
          await stack.startConsole(node, emu, xcc ? { appInfo: { verify_ca: emu.caFile } } : {});
        }),
      );
    }
    // A console whose vendor script is still retrying serves its status page: viewers get updates either way,
    // so the load runs on; the row says how many showed their KVM.
    const shown = await Promise.allSettled(
      nodes.map((node, i) =>
        until(`the KVM of ${node}`, () => showsKvm(stack, node, PROFILES[i % PROFILES.length]!), 300_000, 2000),
      ),
    );
    kvmMissing = nodes.filter((_, i) => shown[i]!.status === 'rejected');
    startSeconds = (Date.now() - t0) / 1000;
  });
  afterAll(async () => {
    await proxy?.close();
    await stack?.close();
  });

  it(TEST, async () => {
    const urls = await Promise.all(nodes.map(async (n) => wsUrlOf((await stack.agent.url(n)).url, proxy.url)));
    const viewers: WsViewer[] = [];
    const openFailures: string[] = [];
    for (let i = 0; i < VIEWERS; i += 10) {
      const batch = await Promise.allSettled(
        Array.from({ length: Math.min(10, VIEWERS - i) }, (_, k) =>
          WsViewer.open(urls[(i + k) % urls.length]!, { timeoutMs: 30_000 }),
        ),
      );
      for (const r of batch) {
        if (r.status === 'fulfilled') {
          r.value.stream(500);
          viewers.push(r.value);
        } else openFailures.push((r.reason as Error).message);
      }
    }
    const bytesAtStart = viewers.map((v) => v.bytes);
    const t0 = Date.now();
    // Every ~5 s each viewer must have received something new (the KVM clock redraws every second).
    let stalls = 0;
    let last = viewers.map((v) => v.bytes);
    while (Date.now() - t0 < SECONDS * 1000) {
      await sleep(Math.min(5000, SECONDS * 1000 - (Date.now() - t0)) + 50);
      const now = viewers.map((v) => v.bytes);
      stalls += now.filter((b, i) => b === last[i] && !viewers[i]!.closed).length;
      last = now;
    }
    const closed = viewers.filter((v) => v.closed);
    const got = viewers.map((v, i) => v.bytes - bytesAtStart[i]!).sort((a, b) => a - b);
    const median = got[Math.floor(got.length / 2)] ?? 0;
    const sessions = proxy.sessionCount();
    for (const v of viewers) v.close();
    record({
      test: TEST,
      area: 'load',
      tried: `${CONSOLES} consoles (${[...new Set(nodes.map((_, i) => PROFILES[i % PROFILES.length]))].join(', ')}; ${kvmMissing.length ? `KVM not shown after ${startSeconds.toFixed(0)} s on ${kvmMissing.join(', ')}` : `all showing their KVM after ${startSeconds.toFixed(0)} s`}), ${VIEWERS} websocket RFB viewers asking for updates every 0.5 s for ${SECONDS} s`,
      held: `opened ${viewers.length}/${VIEWERS} (${openFailures.length} failed${openFailures[0] ? `: ${openFailures[0]}` : ''}); proxy sessions ${sessions}; unexpected disconnects ${closed.length}${closed[0] ? ` (${closed[0].closed!.code} ${closed[0].closed!.reason})` : ''}; 5-second windows without an update: ${stalls}; bytes per viewer min ${(got[0]! / 1024).toFixed(0)} KiB, median ${(median / 1024).toFixed(0)} KiB`,
    });
    expect(openFailures).toEqual([]);
    expect(closed.map((v) => v.closed)).toEqual([]);
    expect(got[0]).toBeGreaterThan(0);
  });

  // After the load, with every console still live: the agent's view survives a restart (issue: 10 live consoles;
  // the default size has 5, --full 20).
  const RESTART = `agent restart with ${CONSOLES} live consoles: same consoles, no orphans, old tokens still valid`;
  it(RESTART, async () => {
    const urls = await Promise.all(nodes.map((n) => stack.agent.url(n)));
    const log = createLogger('rel-agent-2', { level: 'silent' });
    const agent2 = await ConsoleAgent.create(
      { ...stack.agent.config, api_listen: `unix:${stack.agent.config.state_dir}/api/agent-2.sock` },
      log,
    );
    const { app: api, address: apiUrl } = await startApi(agent2);
    const proxy2 = await startProxy(
      {
        host: '127.0.0.1',
        port: 0,
        agentUrl: apiUrl,
        limits: { maxSessionsTotal: VIEWERS * 2, maxSessionsPerNode: VIEWERS, maxSessionsPerSource: VIEWERS * 2 },
      },
      { logger: log },
    );
    try {
      const running = (await agent2.status())
        .filter((st) => st.status === 'running')
        .map((st) => st.node)
        .sort();
      const rec = await agent2.reconcile();
      const { stdout } = await podman([
        'ps',
        '--filter',
        `label=${LABEL_AGENT}=${stack.agentHost}`,
        '--format',
        `{{index .Labels "${LABEL_NODE}"}}`,
      ]);
      const live = stdout.trim().split('\n').filter(Boolean).sort();
      let opened = 0;
      for (const u of urls) {
        const v = await WsViewer.open(wsUrlOf(u.url, proxy2.url), { timeoutMs: 30_000 });
        if (await v.alive()) opened++;
        v.close();
      }
      record({
        test: RESTART,
        area: 'fault',
        tried: `new ConsoleAgent on the same state dir with ${CONSOLES} live consoles (after the load); its own API and proxy`,
        held: `status: ${running.length} running; reconcile: died [${rec.died.join(',')}], unknown stopped [${rec.stoppedUnknown.join(',')}]; podman ps: ${live.length} containers${live.join() === [...nodes].sort().join() ? ', exactly these' : ` (${live.join(',')})`}; ${opened}/${urls.length} tokens issued before the restart opened live sessions`,
      });
      expect(running).toEqual([...nodes].sort());
      expect(rec).toEqual({ died: [], stoppedUnknown: [] });
      expect(live).toEqual([...nodes].sort());
      expect(opened).toBe(urls.length);
    } finally {
      await proxy2.close();
      await api.close();
    }
  });
});
