import { tmpdir } from 'node:os';
import { createLogger } from '@bmc-console/common/log';
import { tempDir } from '@bmc-console/common/testing/temp-dir';
import { loadConfig, type AgentConfigInput } from '../../src/config.js';
import { ConsoleAgent } from '../../src/console-agent.js';
import type { ConsoleProvider } from '../../src/providers/provider.js';

/** The BMC password every provider test pushes through: quotes, %, $, backslash, ;, a newline and non-ASCII. */
export const NASTY_PASSWORD = `p'"%$\\;\nÄ€🔑 $HOME %n end`;

/** 10.0.2.2 is slirp4netns's own gateway: a console (no host loopback) trying it gets "unreachable" and nothing leaves the machine. */
export function appInfo(extra: Record<string, unknown> = {}) {
  return { address: 'https://10.0.2.2:8443', username: 'root', password: NASTY_PASSWORD, ...extra };
}

/** CA bundles of the provider tests live in temp dirs, so the fixture's agents take them from there. */
export async function makeAgent(overrides: AgentConfigInput = {}, provider?: ConsoleProvider) {
  // A caller that names its own state_dir (e.g. a second agent sharing the first one's) gets no extra directory.
  const stateDir = overrides.state_dir ?? tempDir('agent-state-');
  const config = loadConfig({
    env: {},
    overrides: {
      container_provider: 'fake',
      state_dir: stateDir,
      agent_host: `test-${process.pid}`,
      ca_bundle_dir: tmpdir(),
      ...overrides,
    },
  });
  const log = createLogger('agent-test', { level: process.env.LOG_LEVEL ?? 'silent' });
  const agent = await ConsoleAgent.create(config, log, provider ? { provider } : {});
  return { agent, config, stateDir };
}

export function tokenOf(url: string): string {
  const path = decodeURIComponent(new URL(url).searchParams.get('path') ?? '');
  return new URLSearchParams(path.split('?')[1]).get('token') ?? '';
}
