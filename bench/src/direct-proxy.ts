import { startDirectAgentStandIn, type DirectAgentStandIn } from './direct-agent-stand-in.js';
import { startProxyProcess } from './proxy-process.js';

/** Our proxy in its own process (bundled, plain node, as shipped) behind a stand-in agent that answers `direct`. */
export interface DirectProxy {
  pid: number;
  /** ws://127.0.0.1:<port> */
  wsBase: string;
  agent: DirectAgentStandIn;
  /** Asks the proxy for a full garbage collection (it runs with --expose-gc), before memory is sampled. */
  collectGarbage(): void;
  stop(): Promise<void>;
}

/** `releaseAfterSec`: how long the proxy keeps a node's BMC login after its last viewer (0: log out at once). */
export async function startDirectProxy(releaseAfterSec: number): Promise<DirectProxy> {
  const agent = await startDirectAgentStandIn();
  const config = {
    host: '127.0.0.1',
    port: 0,
    agentUrl: agent.url,
    // Every viewer comes from 127.0.0.1: the per-source limit must hold the density part's consoles.
    limits: { maxSessionsTotal: 5000, maxSessionsPerSource: 5000 },
    direct: { releaseAfterSec },
  };
  try {
    const child = await startProxyProcess(config, ['--expose-gc']);
    return {
      pid: child.pid,
      wsBase: `ws://127.0.0.1:${child.info.port as number}`,
      agent,
      collectGarbage: () => process.kill(child.pid, 'SIGUSR2'),
      async stop() {
        await child.stop();
        await agent.close();
      },
    };
  } catch (err) {
    await agent.close();
    throw err;
  }
}
