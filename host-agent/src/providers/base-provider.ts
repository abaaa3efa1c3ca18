import { scrubSecrets, type Logger } from '@bmc-console/common/log';
import { waitForRfbGreeting } from '@bmc-console/common/rfb/client';
import type { AgentConfig } from '../config.js';
import { FileTokenStore } from '../tokens/file-token-store.js';
import type { TokenStore } from '../tokens/token-store.js';
import {
  ProviderError,
  type ConsoleEndpoint,
  type ConsoleProvider,
  type ConsoleRecord,
  type ProviderContext,
  type StartRequest,
  type TokenStoreContext,
} from './provider.js';

/**
 * What the podman, systemd and Kubernetes providers share: config, a logger named after the provider, errors that
 * name the node without its secrets, the RFB wait that makes `start()` return only once the console answers, and
 * tokens in the agent's state file unless a provider keeps them elsewhere.
 */
export abstract class BaseProvider implements ConsoleProvider {
  protected readonly config: AgentConfig;
  protected readonly log: Logger;

  constructor(
    readonly name: string,
    ctx: ProviderContext,
  ) {
    this.config = ctx.config;
    this.log = ctx.log.child({ provider: name });
  }

  abstract start(req: StartRequest): Promise<ConsoleEndpoint>;
  abstract stop(node: string): Promise<void>;
  abstract stopAll(): Promise<void>;
  abstract list(): Promise<ConsoleRecord[]>;

  /** Tokens in the agent's state file: the consoles run where this agent runs, so no other replica verifies them. */
  createTokenStore(ctx: TokenStoreContext): TokenStore {
    return new FileTokenStore(ctx.state, ctx.tokenTimeout);
  }

  /** Makes ProviderErrors for one node, with `secrets` (see secretsOf) scrubbed from the reason. */
  protected failer(node: string, secrets: string[]): (reason: string) => ProviderError {
    return (reason) => new ProviderError(this.name, node, scrubSecrets(reason, secrets));
  }

  /** Waits for the console's RFB greeting at `endpoint` (wait_for_ready_timeout). */
  protected async awaitGreeting(
    endpoint: ConsoleEndpoint,
    fail: (reason: string) => ProviderError,
  ): Promise<ConsoleEndpoint> {
    try {
      await waitForRfbGreeting(endpoint.host, endpoint.port, this.config.wait_for_ready_timeout * 1000);
    } catch (err) {
      throw fail(
        `the console at ${endpoint.host}:${endpoint.port} did not answer with an RFB greeting: ${(err as Error).message}`,
      );
    }
    return endpoint;
  }
}

/** Every form in which a secret may show up in a child's output: raw, JSON-escaped, and the whole APP_INFO. */
export function secretsOf(req: StartRequest): string[] {
  const raw = [req.appInfo.password, req.vncPassword].filter((s): s is string => typeof s === 'string' && s.length > 0);
  return [JSON.stringify(req.appInfo), ...raw, ...raw.map((s) => JSON.stringify(s).slice(1, -1))];
}
