/**
 * Where the host agent keeps its state, API socket and API key by default. The agent and the proxy both use these,
 * so a proxy on the same host (as the same user) finds the agent with no options.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

const isRoot = (): boolean => process.getuid?.() === 0;

/** `/var/lib/bmc-console-agent` for root, else `$XDG_STATE_HOME/bmc-console-agent`. */
export function defaultAgentStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return isRoot()
    ? '/var/lib/bmc-console-agent'
    : join(env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'bmc-console-agent');
}

/**
 * The API's unix socket: `/run/bmc-console-agent/agent.sock` for root, else under `$XDG_RUNTIME_DIR`, else in the
 * state dir (a user without a runtime dir, e.g. a plain `su`).
 */
export function defaultAgentSocket(
  stateDir: string = defaultAgentStateDir(),
  env: NodeJS.ProcessEnv = process.env,
): string {
  if (isRoot()) return '/run/bmc-console-agent/agent.sock';
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'bmc-console-agent', 'agent.sock');
  return join(stateDir, 'api', 'agent.sock');
}

/** The API key a TCP listener requires (`Authorization: Bearer <key>`): `<state_dir>/api.key`. */
export function defaultAgentApiKeyFile(stateDir: string = defaultAgentStateDir()): string {
  return join(stateDir, 'api.key');
}
