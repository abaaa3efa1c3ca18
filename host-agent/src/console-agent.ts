/**
 * The agent's operations, shared by the CLI and the HTTP API: start/stop consoles through a provider, issue and
 * verify tokens, and reconcile its state with what actually runs. Start/stop of one node is serialised (in-process
 * mutex + lock file), and state survives restarts.
 */
import { realpathSync } from 'node:fs';
import { isAbsolute, relative, sep } from 'node:path';
import { APPS, appInfoSchema, redfishAppInfoSchema, type App, type AppInfo } from '@bmc-console/common/console-env';
import {
  describeIssues,
  urlRequestSchema,
  type ConsoleStatus,
  type ConsoleTarget,
  type ErrorKind,
  type ReconcileResult,
  type StartRequest,
  type StartResult,
  type StopResult,
  type UrlRequest,
  type UrlResult,
} from '@bmc-console/common/contracts/agent-api';
import { checkNodeId } from '@bmc-console/common/contracts/node-id';
import { scrubSecrets, type Logger } from '@bmc-console/common/log';
import type { AgentConfig } from './config.js';
import { withLock } from './file-lock.js';
import { loadProvider } from './providers/load-provider.js';
import { ProviderError, type ConsoleProvider, type PrepareOptions } from './providers/provider.js';
import { StateStore, type ConsoleState } from './state-store.js';
import { FileTokenStore } from './tokens/file-token-store.js';
import {
  CONTROL_LINK,
  consoleUrl,
  newVncPassword,
  type TokenClaims,
  type TokenStore,
  type VerifyResult,
} from './tokens/token-store.js';

/** The API's error kinds less `unauthorized`, which only the API's key check answers. */
export type AgentErrorKind = Exclude<ErrorKind, 'unauthorized'>;

/** Every error names the node (when there is one) and the cause; never a secret. */
export class AgentError extends Error {
  constructor(
    readonly kind: AgentErrorKind,
    readonly node: string | undefined,
    readonly cause_: string,
  ) {
    super(node ? `node ${node}: ${cause_}` : cause_);
    this.name = 'AgentError';
  }
}

/** A start as the CLI or the API asks for it: APP and APP_INFO are checked by validateStart. */
export type StartInput = Omit<StartRequest, 'app' | 'appInfo'> & { app?: string; appInfo: unknown };

export type { ConsoleStatus, ConsoleTarget, ReconcileResult, StartResult };

/** Checks APP and APP_INFO; messages name the field (`appInfo.username`) and never echo values. */
export function validateStart(input: StartInput): { node: string; app: App; appInfo: AppInfo; readOnly?: boolean } {
  try {
    checkNodeId(input.node);
  } catch (err) {
    throw new AgentError('invalid', undefined, (err as Error).message);
  }
  const app = input.app ?? 'redfish-graphical';
  if (!(APPS as readonly string[]).includes(app))
    throw new AgentError('invalid', input.node, `app: expected one of ${APPS.join(', ')}, got ${JSON.stringify(app)}`);
  const schema = app === 'redfish-graphical' ? redfishAppInfoSchema : appInfoSchema;
  const r = schema.safeParse(input.appInfo);
  if (!r.success) {
    const problems = r.error.issues.map((i) =>
      i.path.length ? `appInfo.${i.path.join('.')}: ${i.message}` : 'appInfo: expected a JSON object',
    );
    throw new AgentError('invalid', input.node, problems.join('; '));
  }
  if (input.vncPassword !== undefined && typeof input.vncPassword !== 'boolean')
    throw new AgentError('invalid', input.node, 'vncPassword: expected true or false');
  if (input.record !== undefined && typeof input.record !== 'boolean')
    throw new AgentError('invalid', input.node, 'record: expected true or false');
  return {
    node: input.node,
    app: app as App,
    appInfo: r.data,
    ...(input.readOnly !== undefined ? { readOnly: input.readOnly } : {}),
  };
}

/** Checks a URL request (CLI or API); messages name the field (`user: ...`) and never echo the value. */
function validateUrlRequest(node: string, request: unknown): UrlRequest {
  const r = urlRequestSchema.safeParse(request ?? {});
  if (!r.success) throw new AgentError('invalid', node, describeIssues(r.error));
  return r.data;
}

/** The claims a URL request asks for: a control link without a name unless it says otherwise. */
function claimsFor(req: UrlRequest): TokenClaims {
  return {
    role: req.viewOnly ? 'view' : 'control',
    ...(req.user !== undefined ? { user: req.user } : {}),
    exclusive: req.exclusive ?? false,
  };
}

/**
 * A `verify_ca` path is mounted into the console, so a caller could otherwise have any file of the agent's host read
 * (by the console, or into a pooled console's stdin): only files under ca_bundle_dir (symlinks resolved) are taken.
 */
export function checkCaBundlePath(node: string, appInfo: AppInfo, caBundleDir: string): void {
  const ca = appInfo.verify_ca;
  if (typeof ca !== 'string' || /^(true|false|1|0|yes|no)$/i.test(ca)) return;
  const refuse = (why: string) => new AgentError('invalid', node, `appInfo.verify_ca: ${why}`);
  if (!isAbsolute(ca)) throw refuse('expected true, false or an absolute path of a CA bundle under ca_bundle_dir');
  let real: string;
  let dir: string;
  try {
    dir = realpathSync(caBundleDir);
  } catch {
    throw refuse(
      `CA bundle files are accepted only under ca_bundle_dir (${caBundleDir}), which does not exist on the agent's host`,
    );
  }
  try {
    real = realpathSync(ca);
  } catch {
    throw refuse(`${JSON.stringify(ca)} is not a readable file on the agent's host`);
  }
  const rel = relative(dir, real);
  if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel))
    throw refuse(`${JSON.stringify(ca)} is not under ca_bundle_dir (${caBundleDir})`);
}

export class ConsoleAgent {
  readonly store: StateStore;

  constructor(
    readonly config: AgentConfig,
    readonly provider: ConsoleProvider,
    readonly tokens: TokenStore,
    readonly log: Logger,
    store?: StateStore,
  ) {
    this.store = store ?? new StateStore(config.state_dir);
  }

  static async create(
    config: AgentConfig,
    log: Logger,
    opts: { provider?: ConsoleProvider; tokens?: TokenStore } = {},
  ): Promise<ConsoleAgent> {
    const store = new StateStore(config.state_dir);
    const provider = opts.provider ?? (await loadProvider({ config, log }));
    const tokens =
      opts.tokens ??
      provider.createTokenStore?.({ state: store, tokenTimeout: config.token_timeout }) ??
      new FileTokenStore(store, config.token_timeout);
    return new ConsoleAgent(config, provider, tokens, log, store);
  }

  /** A start has happened since the provider last prepared (refilled its pool). */
  private preparePending = false;

  /** The resident refill loop (startPoolRefill), while it runs. */
  private refillTimer: NodeJS.Timeout | undefined;

  /**
   * Lets the provider work ahead of the next start (the podman provider refills its pool). The refill loop calls it
   * at start-up and a while after each start (not while the new console logs in); short CLI commands after answering.
   * Never fails: a pool that cannot be filled only means cold starts.
   */
  async prepare(opts: PrepareOptions = {}): Promise<void> {
    this.preparePending = false;
    await this.provider
      .prepare?.(opts)
      .catch((err: Error) => this.log.warn({ err: err.message }, 'preparing consoles ahead of starts failed'));
  }

  /**
   * For an agent that keeps running (`serve`): prepares now, resident (the pool's claims are opened ahead, docs/agent.md
   * Pool), and again container_pool_refill_delay after a start, so the refill does not compete with the console just
   * taken while it logs in to its BMC. Stopped by stopPoolRefill() or dispose().
   */
  startPoolRefill(): void {
    if (this.refillTimer) return;
    void this.prepare({ resident: true });
    this.refillTimer = setInterval(
      () => this.preparePending && void this.prepare({ resident: true }),
      this.config.container_pool_refill_delay * 1000,
    );
  }

  stopPoolRefill(): void {
    clearInterval(this.refillTimer);
    this.refillTimer = undefined;
  }

  /** Stops the refill loop and ends what a resident prepare() left running; `serve` calls it when it stops. */
  async dispose(): Promise<void> {
    this.stopPoolRefill();
    await this.provider
      .dispose?.()
      .catch((err: Error) => this.log.warn({ err: err.message }, 'closing what was prepared ahead failed'));
  }

  /** Whether a start happened since the last prepare(). */
  get needsPrepare(): boolean {
    return this.preparePending;
  }

  private lock<T>(node: string, fn: () => Promise<T>): Promise<T> {
    return withLock(this.store.nodeLockFile(node), fn);
  }

  private providerError(node: string | undefined, err: unknown, secrets: (string | undefined)[] = []): AgentError {
    if (err instanceof AgentError) return err;
    const text =
      err instanceof ProviderError
        ? `${err.provider} provider: ${err.reason}`
        : ((err as Error).message ?? String(err));
    const msg = scrubSecrets(text, secrets);
    return new AgentError('provider', node, msg.replace(new RegExp(`^node ${node}: `), ''));
  }

  async start(input: StartInput): Promise<StartResult> {
    const req = validateStart(input);
    checkCaBundlePath(req.node, req.appInfo, this.config.ca_bundle_dir);
    const readOnly = req.readOnly ?? this.config.read_only;
    const withPassword = input.vncPassword ?? this.config.vnc_password;
    const record = input.record ?? this.config.record_sessions;
    const secrets = [req.appInfo.password, JSON.stringify(req.appInfo)];
    return this.lock(req.node, async () => {
      // A new start replaces the old console (new APP_INFO, new password); old URLs stop working.
      const existing = (await this.store.read()).consoles[req.node];
      if (existing) await this.stopLocked(req.node);
      const vncPassword = withPassword ? newVncPassword() : undefined;
      this.log.info(
        { node: req.node, app: req.app, provider: this.provider.name, readOnly, withVncPassword: withPassword, record },
        'starting console',
      );
      let endpoint;
      try {
        endpoint = await this.provider.start({
          node: req.node,
          app: req.app,
          appInfo: req.appInfo,
          readOnly,
          ...(vncPassword ? { vncPassword } : {}),
        });
      } catch (err) {
        throw this.providerError(req.node, err, [...secrets, vncPassword]);
      }
      const state: ConsoleState = {
        node: req.node,
        provider: this.provider.name,
        app: req.app,
        host: endpoint.host,
        port: endpoint.port,
        readOnly,
        ...(vncPassword ? { vncPassword } : {}),
        record,
        startedAt: new Date().toISOString(),
        status: 'running',
      };
      await this.store.update((s) => {
        s.consoles[req.node] = state;
      });
      // The URL Ironic gets: a control link without a name, as before links had claims.
      const issued = await this.tokens.issue(
        req.node,
        { host: endpoint.host, port: endpoint.port, readOnly, ...(vncPassword ? { vncPassword } : {}), record },
        CONTROL_LINK,
      );
      this.log.info(
        { node: req.node, host: endpoint.host, port: endpoint.port, role: CONTROL_LINK.role },
        'console ready',
      );
      this.preparePending = true;
      return {
        node: req.node,
        host: endpoint.host,
        port: endpoint.port,
        url: consoleUrl(this.config.public_url, req.node, issued.token),
        expiresAt: issued.expiresAt.toISOString(),
      };
    });
  }

  /** Idempotent: stopping a console that is not running succeeds with `wasRunning: false`. */
  async stop(node: string): Promise<StopResult> {
    try {
      checkNodeId(node);
    } catch (err) {
      throw new AgentError('invalid', undefined, (err as Error).message);
    }
    return this.lock(node, async () => ({ node, wasRunning: await this.stopLocked(node) }));
  }

  private async stopLocked(node: string): Promise<boolean> {
    const known = (await this.store.read()).consoles[node];
    // Tokens go first: even if the provider fails to stop the container, nobody can connect any more.
    await this.tokens.revoke(node);
    try {
      await this.provider.stop(node);
    } catch (err) {
      throw this.providerError(node, err);
    }
    await this.store.update((s) => {
      delete s.consoles[node];
    });
    this.log.info({ node }, 'console stopped');
    return known?.status === 'running';
  }

  async stopAll(): Promise<{ stopped: string[] }> {
    const known = Object.keys((await this.store.read()).consoles);
    const live = await this.provider.list().catch(() => []);
    try {
      await this.provider.stopAll();
    } catch (err) {
      throw this.providerError(undefined, err);
    }
    const nodes = [...new Set([...known, ...live.map((r) => r.node)])];
    for (const node of nodes) await this.tokens.revoke(node);
    await this.store.update((s) => {
      s.consoles = {};
    });
    this.log.info({ nodes }, 'all consoles stopped');
    return { stopped: nodes.sort() };
  }

  async status(node?: string): Promise<ConsoleStatus[]> {
    if (node !== undefined)
      try {
        checkNodeId(node);
      } catch (err) {
        throw new AgentError('invalid', undefined, (err as Error).message);
      }
    const state = await this.store.read();
    const now = Date.now();
    const list = Object.values(state.consoles)
      .filter((c) => node === undefined || c.node === node)
      .map(
        (c): ConsoleStatus => ({
          node: c.node,
          provider: c.provider,
          app: c.app,
          status: c.status,
          host: c.host,
          port: c.port,
          readOnly: c.readOnly,
          record: c.record ?? false,
          startedAt: c.startedAt,
          ...(c.diedAt ? { diedAt: c.diedAt } : {}),
          validTokens: state.tokens.filter((t) => t.node === c.node && !t.revokedAt && Date.parse(t.expiresAt) > now)
            .length,
        }),
      );
    if (node !== undefined && list.length === 0)
      throw new AgentError('not-found', node, 'no console is running for this node');
    return list.sort((a, b) => a.node.localeCompare(b.node));
  }

  /**
   * A fresh token and console URL for one viewer (role, name, exclusive control: `request`, default a control link
   * without a name); earlier tokens stay valid until they expire. Under the node lock, so a stop that is revoking
   * the node's tokens cannot be followed by a token issued from the state it read before.
   */
  async url(node: string, request?: UrlRequest): Promise<UrlResult> {
    await this.status(node); // checks the id and that a console is known, before waiting for the lock
    const claims = claimsFor(validateUrlRequest(node, request));
    return this.lock(node, async () => {
      const full = (await this.store.read()).consoles[node];
      if (full?.status !== 'running')
        throw new AgentError(
          'not-found',
          node,
          full ? 'the console died; start it again' : 'no console is running for this node',
        );
      const issued = await this.tokens.issue(
        node,
        {
          host: full.host,
          port: full.port,
          readOnly: full.readOnly,
          ...(full.vncPassword ? { vncPassword: full.vncPassword } : {}),
          record: full.record ?? false,
        },
        claims,
      );
      // The audit line: who the link is for and what it may do (never the token).
      this.log.info(
        { node, role: claims.role, user: claims.user, exclusive: claims.exclusive, expiresAt: issued.expiresAt },
        'console URL issued',
      );
      return {
        node,
        url: consoleUrl(this.config.public_url, node, issued.token),
        expiresAt: issued.expiresAt.toISOString(),
        ...claims,
      };
    });
  }

  verify(node: string, token: string): Promise<VerifyResult> {
    return this.tokens.verify(node, token);
  }

  /**
   * Where a running console of this agent answers, with its VNC password: for a proxy that checked the viewer's
   * token elsewhere (Ironic's own tokens). Consoles this agent did not start, or that died, are not-found.
   */
  async target(node: string): Promise<ConsoleTarget> {
    try {
      checkNodeId(node);
    } catch (err) {
      throw new AgentError('invalid', undefined, (err as Error).message);
    }
    const c = (await this.store.read()).consoles[node];
    if (c?.status !== 'running')
      throw new AgentError(
        'not-found',
        node,
        c ? 'the console died; start it again' : 'no console is running for this node',
      );
    return {
      node,
      host: c.host,
      port: c.port,
      ...(c.vncPassword ? { vncPassword: c.vncPassword } : {}),
      readOnly: c.readOnly,
      record: c.record ?? false,
    };
  }

  /**
   * Brings state and reality together: consoles whose container died are cleaned up, their tokens revoked and
   * they are marked `died`; labelled containers of this agent that it does not know are stopped (Ironic bug 2158578).
   */
  async reconcile(): Promise<ReconcileResult> {
    const live = await this.provider.list();
    const liveRunning = new Set(live.filter((r) => r.running).map((r) => r.node));
    const state = await this.store.read();
    const died: string[] = [];
    for (const c of Object.values(state.consoles)) {
      if (c.status !== 'running' || liveRunning.has(c.node)) continue;
      await this.lock(c.node, async () => {
        await this.provider
          .stop(c.node)
          .catch((err: Error) =>
            this.log.warn({ node: c.node, err: err.message }, 'clean-up of a dead console failed'),
          );
        await this.tokens.revoke(c.node);
        await this.store.update((s) => {
          const cur = s.consoles[c.node];
          if (cur) {
            cur.status = 'died';
            cur.diedAt = new Date().toISOString();
            delete cur.vncPassword;
          }
        });
      });
      died.push(c.node);
      this.log.warn({ node: c.node }, 'console container died; marked and cleaned up');
    }
    const stoppedUnknown: string[] = [];
    for (const r of live) {
      const known = state.consoles[r.node];
      if (known && known.status === 'running') continue;
      if (known && !r.running) continue;
      await this.lock(r.node, () => this.provider.stop(r.node)).catch((err: Error) =>
        this.log.warn({ node: r.node, err: err.message }, 'stopping an unknown console failed'),
      );
      stoppedUnknown.push(r.node);
      this.log.warn({ node: r.node, name: r.name }, 'stopped a console container this agent did not know');
    }
    return { died, stoppedUnknown };
  }
}
