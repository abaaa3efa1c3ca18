import { join } from 'node:path';

/**
 * The host agent podman provider's `podman run` flags at its defaults (host-agent/src/providers/podman/provider.ts),
 * without name, labels, port and environment: for the benchmarks and probes that start a console with plain podman,
 * so that what they measure is the console the agent would start.
 */
export const CONSOLE_RUN_FLAGS: readonly string[] = [
  '--detach',
  '--rm',
  '--init',
  '--network',
  'slirp4netns',
  '--shm-size',
  '512m',
  '--memory',
  '1536m',
  '--cpus',
  '2',
  '--pids-limit',
  '1024',
  '--pull',
  'never',
];

/** podman's environment for this repository: CONTAINERS_CONF names deploy/containers.conf (docs/platform). */
export function podmanEnvFor(repoRoot: string): NodeJS.ProcessEnv {
  return { ...process.env, CONTAINERS_CONF: join(repoRoot, 'deploy/containers.conf') };
}
