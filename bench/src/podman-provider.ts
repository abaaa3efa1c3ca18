import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@bmc-console/common/log';

const IMAGE = 'localhost/bmc-console:latest';
// Generous: on a busy machine a console can take long to answer, and a slow start is a result, not a failure.
const READY_TIMEOUT_SEC = 120;
const benchRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/** What the benchmarks use of the host agent's podman provider. */
export interface BenchProvider {
  start(req: unknown): Promise<{ host: string; port: number }>;
  stop(node: string): Promise<void>;
  stopAll(): Promise<void>;
}

/**
 * The host agent's podman provider for the console image, its containers labelled with `agentHost` (a name of the
 * benchmark's own keeps its cleanup to them). Rejects when the host agent package is not there.
 */
export async function podmanProvider(agentHost: string): Promise<BenchProvider> {
  // Specifiers in variables: the bench type-checks without the host agent package.
  const providerSpec = '@bmc-console/host-agent/providers/podman/provider';
  const configSpec = '@bmc-console/host-agent/config';
  const { PodmanProvider } = (await import(providerSpec)) as {
    PodmanProvider: new (ctx: { config: unknown; log: unknown }) => BenchProvider;
  };
  const { agentConfigSchema } = (await import(configSpec)) as { agentConfigSchema: { parse(x: unknown): unknown } };
  const config = agentConfigSchema.parse({
    console_image: IMAGE,
    container_pull: 'never',
    agent_host: agentHost,
    state_dir: join(benchRoot, 'dist', 'out', `agent-state-${agentHost}`),
    wait_for_ready_timeout: READY_TIMEOUT_SEC,
  });
  return new PodmanProvider({ config, log: createLogger('bench', { level: 'warn' }) });
}
