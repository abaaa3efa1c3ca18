import { startAgentStandIn } from './agent-stand-in.js';
import { startProxyProcess } from './proxy-process.js';
import type { RelayUnderTest } from './relay.js';
import type { TlsFiles } from './websockify.js';

let sessionCounter = 0;

/** BENCH_PROXY_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", to profile the proxy during a run. */
function extraNodeArgs(): string[] {
  return (process.env.BENCH_PROXY_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
}

/**
 * Starts bmc-console-proxy in its own process with an in-process stand-in for the agent's token endpoint that
 * sends every session to the benchmark console. Limits are raised so that 1000 sessions from one address fit;
 * every session is for a different node, as with 1000 consoles.
 */
export async function startOurProxy(targetPort: number, vncPassword: string, tls?: TlsFiles): Promise<RelayUnderTest> {
  const agent = await startAgentStandIn(targetPort, vncPassword);
  const config = {
    host: '127.0.0.1',
    port: 0,
    agentUrl: agent.url,
    ...(tls ? { tls: { certFile: tls.certFile, keyFile: tls.keyFile } } : {}),
    limits: { maxSessionsTotal: 5000, maxSessionsPerSource: 5000 },
  };
  let child;
  try {
    // Bundled like the shipped proxy (plain node, no tsx loader thread), with its node flags.
    child = await startProxyProcess(config, ['--expose-gc', ...extraNodeArgs()]);
  } catch (err) {
    await agent.close();
    throw err;
  }
  const port = child.info.port as number;
  const base = `${tls ? 'wss' : 'ws'}://127.0.0.1:${port}`;
  const stop = child.stop;
  return {
    name: 'bmc-console-proxy',
    pid: child.pid,
    collectGarbage: () => process.kill(child.pid, 'SIGUSR2'),
    endpoint: () => {
      const n = ++sessionCounter;
      return { kind: 'ws', url: `${base}/websockify?node=bench-${n}&token=bench-token-${n}` };
    },
    async stop() {
      await stop();
      await agent.close();
    },
  };
}
