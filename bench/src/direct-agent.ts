/**
 * The host agent's part of a direct console's start, in process as its tests run it: ConsoleAgent with the fake
 * provider (no container is started for a direct console anyway) and consoleMode 'direct', so a start is Redfish
 * discovery plus the certificate pin. Loaded lazily: the bench type-checks and runs without the host agent.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DirectTarget, DirectTargetSchema } from '@bmc-console/common/contracts/direct-target';
import { createLogger, type Logger } from '@bmc-console/common/log';

interface AgentLike {
  start(input: { node: string; app: string; appInfo: Record<string, unknown>; consoleMode: string }): Promise<{
    mode?: string;
  }>;
  target(node: string): Promise<{ direct?: unknown }>;
  stop(node: string): Promise<unknown>;
  dispose(): Promise<void>;
}

export interface DirectAgent {
  /** Starts `node` as a direct console; the BMC target the agent would hand the proxy (with its certificate pin). */
  start(node: string, appInfo: { address: string; username: string; password: string }): Promise<DirectTarget>;
  stop(node: string): Promise<void>;
  close(): Promise<void>;
}

/** The in-process agent, or the reason it cannot run (its package or its direct mode is missing). */
export async function loadDirectAgent(): Promise<DirectAgent | string> {
  const stateDir = mkdtempSync(join(tmpdir(), 'bench-direct-agent-state-'));
  try {
    // Specifiers in variables: the bench must type-check without the host agent package.
    const agentSpec = '@bmc-console/host-agent/console-agent';
    const configSpec = '@bmc-console/host-agent/config';
    const { ConsoleAgent } = (await import(agentSpec)) as {
      ConsoleAgent: { create(config: unknown, log: Logger): Promise<AgentLike> };
    };
    const { loadConfig } = (await import(configSpec)) as { loadConfig(opts: unknown): unknown };
    const config = loadConfig({
      env: {},
      overrides: {
        container_provider: 'fake',
        state_dir: stateDir,
        agent_host: `bench-direct-${process.pid}`,
        console_mode: 'direct',
      },
    });
    const agent = await ConsoleAgent.create(config, createLogger('bench-agent', { level: 'warn' }));
    return {
      async start(node, appInfo) {
        const started = await agent.start({
          node,
          app: 'redfish-graphical',
          appInfo: { ...appInfo, verify_ca: false, node_uuid: node },
          consoleMode: 'direct',
        });
        if (started.mode !== 'direct') throw new Error(`${node}: the agent started a ${started.mode} console`);
        const parsed = DirectTargetSchema.safeParse((await agent.target(node)).direct);
        // Paths only: the target holds the BMC password.
        if (!parsed.success)
          throw new Error(
            `${node}: the agent's target has no valid direct (${parsed.error.issues.map((i) => i.path.join('.') || 'direct').join(', ')})`,
          );
        return parsed.data;
      },
      stop: async (node) => void (await agent.stop(node)),
      async close() {
        await agent.dispose();
        rmSync(stateDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(stateDir, { recursive: true, force: true });
    return `the host agent's direct mode cannot be loaded: ${(err as Error).message.split('\n')[0]}`;
  }
}
