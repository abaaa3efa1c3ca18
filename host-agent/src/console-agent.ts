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
import { CONSOLE_MODES, type ConsoleMode, type DirectTarget } from '@bmc-console/common/contracts/direct-target';
import { checkNodeId } from '@bmc-console/common/contracts/node-id';
import { scrubSecrets, type Logger } from '@bmc-console/common/log';
import type { AgentConfig } from './config.js';
import { directTargetFor, discoverDialect, tryDirect, type RedfishAppInfo } from './direct-console.js';
import { directRelaysFor, type DirectRelays } from './direct-relay.js';
import { withLock } from './file-lock.js';
import { loadProvider } from './providers/load-provider.js';
import { ProviderError, type ConsoleProvider, type PrepareOptions } from './providers/provider.js';
import { StateStore, type ConsoleState } from './state-store.js';
import { FileTokenStore } from './tokens/file-token-store.js';
import {
  CONTROL_LINK,
  consoleUrl,
  endpointOf,
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

/** A start as the CLI or the API asks for it: APP, APP_INFO and the console mode are checked by validateStart. */
export type StartInput = Omit<StartRequest, 'app' | 'appInfo' | 'consoleMode'> & {
  app?: string;
  appInfo: unknown;
  consoleMode?: string;
};

export type { ConsoleStatus, ConsoleTarget, ReconcileResult, StartResult };

/** Checks APP and APP_INFO; messages name the field (`appInfo.username`) and never echo values. */
export function validateStart(input: StartInput): {
  node: string;
  app: App;
  appInfo: AppInfo;
  readOnly?: boolean;
  consoleMode?: ConsoleMode;
} {
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
  const mode = input.consoleMode;
  if (mode !== undefined && !(CONSOLE_MODES as readonly string[]).includes(mode))
    throw new AgentError(
      'invalid',
      input.node,
      `consoleMode: expected one of ${CONSOLE_MODES.join(', ')}, got ${JSON.stringify(mode)}`,
    );
  return {
    node: input.node,
    app: app as App,
    appInfo: r.data,
    ...(input.readOnly !== undefined ? { readOnly: input.readOnly } : {}),
    ...(mode !== undefined ? { consoleMode: mode as ConsoleMode } : {}),
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

/** What `provider` a direct console's state and status name: no provider runs it. */
const DIRECT_PROVIDER = 'direct';

/** How a start is served once its mode is resolved: a container, or a direct console with its BMC. */
type Served = { mode: 'container' } | { mode: 'direct'; direct: DirectTarget };

export class ConsoleAgent {
  readonly store: StateStore;
  /**
   * Tokens of direct consoles: always in the agent's state (a provider's own store, e.g. Kubernetes Secrets, keeps
   * tokens on the container's objects, and a direct console has none).
   */
  private readonly directTokens: TokenStore;

  constructor(
    readonly config: AgentConfig,
    readonly provider: ConsoleProvider,
    readonly tokens: TokenStore,
    readonly log: Logger,
    store?: StateStore,
    /** The RFB relays of direct consoles: only `serve` has them (a CLI command ends before any viewer comes). */
    readonly relays?: DirectRelays,
  ) {
    this.store = store ?? new StateStore(config.state_dir);
    this.directTokens =
      tokens instanceof FileTokenStore ? tokens : new FileTokenStore(this.store, config.token_timeout);
  }

  static async create(
    config: AgentConfig,
    log: Logger,
    /** `serving`: the caller keeps running (`serve`), so direct consoles get RFB relays (direct_relay_address). */
    opts: { provider?: ConsoleProvider; tokens?: TokenStore; relays?: DirectRelays; serving?: boolean } = {},
  ): Promise<ConsoleAgent> {
    const store = new StateStore(config.state_dir);
    const provider = opts.provider ?? (await loadProvider({ config, log }));
    const tokens =
      opts.tokens ??
      provider.createTokenStore?.({ state: store, tokenTimeout: config.token_timeout }) ??
      new FileTokenStore(store, config.token_timeout);
    const relays = opts.relays ?? (opts.serving ? directRelaysFor(config, log) : undefined);
    return new ConsoleAgent(config, provider, tokens, log, store, relays);
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

  /**
   * Stops the refill loop, ends what a resident prepare() left running and closes the direct consoles' relays (their
   * BMC logins too); `serve` calls it when it stops.
   */
  async dispose(): Promise<void> {
    this.stopPoolRefill();
    await this.relays?.closeAll();
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
    const mode = req.consoleMode ?? this.config.console_mode;
    if (mode === 'direct' && req.app !== 'redfish-graphical')
      throw new AgentError(
        'invalid',
        req.node,
        `consoleMode: direct serves app redfish-graphical only, not ${req.app}`,
      );
    const readOnly = req.readOnly ?? this.config.read_only;
    const record = input.record ?? this.config.record_sessions;
    return this.lock(req.node, async () => {
      // A new start replaces the old console (new APP_INFO, new password); old URLs stop working. First, so that a
      // direct trial does not find the BMC's console held by the console it replaces.
      const existing = (await this.store.read()).consoles[req.node];
      if (existing) await this.stopLocked(req.node);
      const served: Served =
        mode === 'container' || req.app !== 'redfish-graphical'
          ? { mode: 'container' }
          : await this.resolveDirect(req.node, req.appInfo as RedfishAppInfo, mode);
      const withPassword = input.vncPassword ?? this.config.vnc_password;
      if (served.mode === 'direct')
        return this.startDirect(req.node, req.app, served.direct, readOnly, withPassword, record);
      return this.startContainer(req, readOnly, withPassword, record);
    });
  }

  /**
   * `direct`: the BMC's direct target, or an error naming why it has none. `auto`: the target when discovery finds
   * a direct dialect and a trial login opens the KVM; a container (logged with the reason) otherwise.
   */
  private async resolveDirect(node: string, info: RedfishAppInfo, mode: 'auto' | 'direct'): Promise<Served> {
    const timeoutMs = this.config.direct_timeout * 1000;
    const secrets = [info.password];
    const why = (err: unknown) => scrubSecrets(err instanceof Error ? err.message : String(err), secrets);
    const toContainer = (reason: string): Served => {
      this.log.info({ node, reason }, 'console mode auto: serving a container');
      return { mode: 'container' };
    };
    let dialect;
    try {
      dialect = await discoverDialect(info, timeoutMs, this.log);
    } catch (err) {
      if (mode === 'auto') return toContainer(`Redfish discovery failed: ${why(err)}`);
      throw new AgentError('provider', node, `direct console: Redfish discovery failed: ${why(err)}`);
    }
    if (dialect.vendor === null) {
      if (mode === 'auto') return toContainer(`no direct KVM: ${dialect.why}`);
      throw new AgentError('invalid', node, `consoleMode direct: the BMC has no direct KVM (${dialect.why})`);
    }
    let direct: DirectTarget;
    try {
      direct = await directTargetFor(info, dialect.vendor, timeoutMs);
    } catch (err) {
      if (mode === 'auto') return toContainer(`reading the BMC's certificate or CA bundle failed: ${why(err)}`);
      throw new AgentError('provider', node, `direct console: ${why(err)}`);
    }
    if (mode === 'auto') {
      const refused = await tryDirect(direct, timeoutMs, this.log.child({ node }));
      if (refused !== null) return toContainer(`the direct trial failed: ${refused}`);
    }
    return { mode: 'direct', direct };
  }

  /**
   * A direct console: no container and no provider call; the relay (serve only) gives it a host:port, which asks its
   * viewers for the console's VNC password, as a container's x11vnc does (local users reach loopback too).
   */
  private async startDirect(
    node: string,
    app: App,
    direct: DirectTarget,
    readOnly: boolean,
    withPassword: boolean,
    record: boolean,
  ): Promise<StartResult> {
    this.log.info(
      { node, app, vendor: direct.vendor, readOnly, withVncPassword: withPassword, record },
      'starting direct console',
    );
    const vncPassword = withPassword ? newVncPassword() : undefined;
    let endpoint: { host: string; port: number } | undefined;
    try {
      endpoint = await this.relays?.open(node, direct, readOnly, { vncPassword });
    } catch (err) {
      throw new AgentError('internal', node, `direct relay: ${(err as Error).message}`);
    }
    const state: ConsoleState = {
      node,
      provider: DIRECT_PROVIDER,
      app,
      mode: 'direct',
      ...(endpoint ?? {}),
      direct,
      readOnly,
      ...(vncPassword ? { vncPassword } : {}),
      record,
      startedAt: new Date().toISOString(),
      status: 'running',
    };
    await this.store.update((s) => {
      s.consoles[node] = state;
    });
    const issued = await this.directTokens.issue(
      node,
      { ...endpointOf(state), readOnly, ...(vncPassword ? { vncPassword } : {}), record },
      CONTROL_LINK,
    );
    this.log.info({ node, mode: 'direct', ...(endpoint ?? {}), role: CONTROL_LINK.role }, 'console ready');
    return {
      node,
      mode: 'direct',
      ...(endpoint ?? {}),
      url: consoleUrl(this.config.public_url, node, issued.token),
      expiresAt: issued.expiresAt.toISOString(),
    };
  }

  private async startContainer(
    req: { node: string; app: App; appInfo: AppInfo },
    readOnly: boolean,
    withPassword: boolean,
    record: boolean,
  ): Promise<StartResult> {
    const secrets = [req.appInfo.password, JSON.stringify(req.appInfo)];
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
      mode: 'container',
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
      mode: 'container',
      host: endpoint.host,
      port: endpoint.port,
      url: consoleUrl(this.config.public_url, req.node, issued.token),
      expiresAt: issued.expiresAt.toISOString(),
    };
  }

  /** The token store of a console served in `mode`. */
  private tokensOf(c: Pick<ConsoleState, 'mode'> | undefined): TokenStore {
    return c?.mode === 'direct' ? this.directTokens : this.tokens;
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
    await this.tokensOf(known).revoke(node);
    if (known?.mode === 'direct') await this.relays?.close(node);
    else
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
    await this.relays?.closeAll();
    const nodes = [...new Set([...known, ...live.map((r) => r.node)])];
    for (const node of nodes) await this.tokens.revoke(node);
    if (this.directTokens !== this.tokens) for (const node of known) await this.directTokens.revoke(node);
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
          mode: c.mode ?? 'container',
          // Never the direct target: status is for operators and holds no secret.
          ...(c.host !== undefined && c.port !== undefined ? { host: c.host, port: c.port } : {}),
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
      const issued = await this.tokensOf(full).issue(
        node,
        {
          ...endpointOf(full),
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

  /** A token of a container console is in the provider's store, one of a direct console in the agent's state. */
  async verify(node: string, token: string): Promise<VerifyResult> {
    const r = await this.tokens.verify(node, token);
    if (r.ok || r.reason !== 'unknown' || this.directTokens === this.tokens) return r;
    return this.directTokens.verify(node, token);
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
      ...endpointOf(c),
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
    await this.syncRelays();
    const live = await this.provider.list();
    const liveRunning = new Set(live.filter((r) => r.running).map((r) => r.node));
    const state = await this.store.read();
    const died: string[] = [];
    for (const c of Object.values(state.consoles)) {
      // A direct console has no container for the provider to list: it runs until stopped.
      if (c.status !== 'running' || c.mode === 'direct' || liveRunning.has(c.node)) continue;
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

  /**
   * Gives every running direct console of the state a relay (serve's start, a console the CLI started) on its earlier
   * port when free, and closes relays of consoles that are gone (stopped by the CLI). Never fails: a relay that
   * cannot open is logged, and the console stays reachable through the proxy's own login.
   */
  async syncRelays(): Promise<void> {
    const relays = this.relays;
    if (!relays) return;
    const consoles = (await this.store.read()).consoles;
    for (const node of relays.nodes()) {
      const c = consoles[node];
      if (c?.status !== 'running' || c.mode !== 'direct') await relays.close(node);
    }
    for (const c of Object.values(consoles)) {
      if (c.status !== 'running' || c.mode !== 'direct' || !c.direct) continue;
      await this.lock(c.node, async () => {
        const cur = (await this.store.read()).consoles[c.node];
        if (cur?.status !== 'running' || cur.mode !== 'direct' || !cur.direct) return;
        const ep = await relays.open(c.node, cur.direct, cur.readOnly, {
          vncPassword: cur.vncPassword,
          port: cur.port,
        });
        if (ep.host === cur.host && ep.port === cur.port) return;
        await this.store.update((s) => {
          const now = s.consoles[c.node];
          if (now) Object.assign(now, ep);
          // Its links keep working: their target follows the relay to its new port.
          for (const t of s.tokens) if (t.node === c.node && !t.revokedAt) Object.assign(t, ep);
        });
      }).catch((err: Error) => this.log.warn({ node: c.node, err: err.message }, 'direct relay: cannot open'));
    }
  }
}
