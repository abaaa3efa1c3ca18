import type { App, AppInfo } from '@bmc-console/common/console-env';
import type { Logger } from '@bmc-console/common/log';
import type { AgentConfig } from '../config.js';
import type { StateStore } from '../state-store.js';
import type { TokenStore } from '../tokens/token-store.js';

export interface StartRequest {
  node: string;
  app: App;
  appInfo: AppInfo;
  readOnly: boolean;
  /** When set, the console's x11vnc requires it; it travels like APP_INFO (env/secret, never argv). */
  vncPassword?: string;
}

/** Where the console's VNC server answers. */
export interface ConsoleEndpoint {
  host: string;
  port: number;
}

/** What a provider sees running: one entry per console container it owns (scoped to this agent). */
export interface ConsoleRecord {
  node: string;
  /** The container / unit / pod name. */
  name: string;
  running: boolean;
  endpoint?: ConsoleEndpoint;
}

/**
 * Where console containers run. `start` blocks until the VNC server answers with an RFB greeting and,
 * on failure, leaves nothing behind. Errors are ProviderErrors naming the node and the cause.
 */
export interface ConsoleProvider {
  readonly name: string;
  start(req: StartRequest): Promise<ConsoleEndpoint>;
  stop(node: string): Promise<void>;
  stopAll(): Promise<void>;
  list(): Promise<ConsoleRecord[]>;
  /**
   * Work a provider does ahead of starts (the podman provider's pool of started consoles). The agent calls it when
   * it starts serving and after each start; it must not fail a start, so errors are only logged.
   */
  prepare?(opts?: PrepareOptions): Promise<void>;
  /** Ends what prepare({ resident: true }) left running (the podman pool's claims opened ahead). */
  dispose?(): Promise<void>;
  /**
   * Where this provider's console tokens live. Without it, in the agent's state file, which suits consoles that one
   * agent host owns; consoles any replica may serve (Kubernetes) keep their tokens where every replica reads them.
   */
  createTokenStore?(ctx: TokenStoreContext): TokenStore;
}

/** What a token store is built from. */
export interface TokenStoreContext {
  /** The agent's state file. */
  state: StateStore;
  /** token_timeout: seconds a token stays valid. */
  tokenTimeout: number;
}

export interface PrepareOptions {
  /**
   * The caller keeps running (`serve`), so work that needs a live process may stay open until dispose(): the
   * podman pool opens each pooled console's claim ahead. Short CLI commands leave it unset.
   */
  resident?: boolean;
}

/** What a provider factory gets: the validated config, a logger, and (for readiness) the RFB wait. */
export interface ProviderContext {
  config: AgentConfig;
  log: Logger;
}

/** An external provider package default-exports (or exports `createProvider`) a function of this type. */
export type ProviderFactory = (ctx: ProviderContext) => ConsoleProvider | Promise<ConsoleProvider>;

export class ProviderError extends Error {
  constructor(
    readonly provider: string,
    readonly node: string | undefined,
    readonly reason: string,
  ) {
    super(`console provider '${provider}'${node ? ` for node ${node}` : ''}: ${reason}`);
    this.name = 'ProviderError';
  }
}
