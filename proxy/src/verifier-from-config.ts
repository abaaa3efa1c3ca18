import { AgentTargetClient } from './agent-target.js';
import type { ProxyConfig } from './config.js';
import { IronicClient } from './ironic-client.js';
import { IronicTokenVerifier } from './ironic-token-verifier.js';
import { AgentTokenVerifier, readAgentApiKey, type TokenVerifier } from './token-verifier.js';

/** A verifier the proxy made itself, so it also closes it (its kept-alive connections). */
export type OwnVerifier = TokenVerifier & { close(): void };

/**
 * The token verifier `tokenSource` asks for: our agent's tokens, or Ironic's checked with Ironic's API (targets
 * still from the agent). Reads the key, password and CA files now, so a bad one stops the start; errors name the field.
 */
export function verifierFromConfig(config: ProxyConfig): OwnVerifier {
  const apiKey = config.agentUrl.startsWith('unix:') ? undefined : readAgentApiKey(config.agentApiKeyFile);
  const agentOpts = { timeoutMs: config.agentTimeoutMs, ...(apiKey !== undefined ? { apiKey } : {}) };
  if (config.tokenSource === 'agent') return new AgentTokenVerifier(config.agentUrl, agentOpts);
  // The schema refuses tokenSource "ironic" without an ironic block.
  const ironic = config.ironic!;
  return new IronicTokenVerifier(IronicClient.fromConfig(ironic), new AgentTargetClient(config.agentUrl, agentOpts), {
    tokenTimeoutSec: ironic.tokenTimeoutSec,
  });
}
