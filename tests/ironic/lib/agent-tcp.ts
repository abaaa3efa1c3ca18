/**
 * A second API for an agent, on TCP with an API key: how a conductor on another host reaches the agent
 * (`[bmc_console]agent_url = http://...` with `credential_file`), next to the unix socket the stack serves.
 */
import { join } from 'node:path';
import { buildApi, listenApi } from '@bmc-console/host-agent/api';
import { ensureApiKey } from '@bmc-console/host-agent/api-key';
import type { ConsoleAgent } from '@bmc-console/host-agent/console-agent';
import { tempDir } from '@bmc-console/common/testing/temp-dir';

export interface AgentTcpApi {
  /** http://127.0.0.1:<port> */
  url: string;
  /** The 0600 file holding the key every request must carry (Authorization: Bearer). */
  apiKeyFile: string;
  close(): Promise<void>;
}

export async function serveAgentOnTcp(agent: ConsoleAgent): Promise<AgentTcpApi> {
  const apiKeyFile = join(tempDir('bmc-ironic-agent-key-'), 'api.key');
  const listen = { kind: 'tcp', host: '127.0.0.1', port: 0 } as const;
  const app = buildApi(agent, { listen, apiKey: await ensureApiKey(apiKeyFile) });
  const url = await listenApi(app, listen);
  return { url, apiKeyFile, close: () => app.close() };
}
