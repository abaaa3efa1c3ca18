/**
 * Console containers through the podman (or docker) CLI: `run --detach --rm --init`, labelled with node and agent,
 * port 5900 published on a loopback address with a free host port (picked by the agent for a local engine, by the
 * engine itself for a remote one). Secrets never go into argv: APP_INFO and
 * VNC_PASSWORD are podman secrets mounted as files (secrets.ts), or `--env NAME` with the value only in the
 * CLI's own environment. No capability but SYS_CHROOT, no new privileges (../container-security.ts).
 * With container_pool_size, a start first tries a console started ahead of need (pool.ts).
 */
import { basename } from 'node:path';
import { consoleEnvironment } from '@bmc-console/common/console-env';
import { isSecretVariable } from '@bmc-console/common/contracts/secret-names';
import { scrubSecrets } from '@bmc-console/common/log';
import { openCommand, runCommand, type CommandResult } from '../../run-command.js';
import { consoleLabels, consoleName, LABEL_AGENT, LABEL_NODE } from '../console-names.js';
import { containerEnvironment } from '../container-environment.js';
import { hardeningRunArgs } from '../container-security.js';
import { createPodmanSecrets, removePodmanSecrets, secretMount } from './secrets.js';
import { LABEL_POOL, PodmanPool, POOL_NAME_PREFIX } from './pool.js';
import { parsePodmanPort, pickFreePort, PORT_TAKEN } from './port.js';
import { parsePsRows } from './ps.js';
import { BaseProvider, secretsOf } from '../base-provider.js';
import {
  ProviderError,
  type ConsoleEndpoint,
  type ConsoleProvider,
  type ConsoleRecord,
  type PrepareOptions,
  type ProviderContext,
  type StartRequest,
} from '../provider.js';

export class PodmanProvider extends BaseProvider {
  private readonly isDocker: boolean;

  /** Secrets as mounted podman secrets, or (docker, or when configured) env passthrough. */
  private readonly credentials: 'env' | 'secret';

  /** Consoles started before their node is known (container_pool_size); a start takes one when it can. */
  private readonly pool: PodmanPool;

  constructor(ctx: ProviderContext) {
    super('podman', ctx);
    this.isDocker = basename(ctx.config.container_executable).startsWith('docker');
    this.credentials = ctx.config.container_credentials ?? (this.isDocker ? 'env' : 'secret');
    if (this.isDocker && this.credentials === 'secret')
      throw new ProviderError(
        this.name,
        undefined,
        'container_credentials: secret needs podman (docker secrets are Swarm-only); use env',
      );
    this.pool = new PodmanPool({
      config: this.config,
      log: this.log,
      cli: (args, env, input) => this.cli(args, env, input),
      openCli: (args) => openCommand(this.config.container_executable, args, { env: this.cliEnv() }),
      baseRunArgs: (name, labels, hostPort) => this.baseRunArgs(name, labels, hostPort),
      poolEnvironment: () => this.poolEnvironment(),
      remote: () => this.remote(),
      remove: (name) => this.cli(['rm', '--force', ...this.rmTime('0'), name]),
    });
  }

  /** docker's rm has no --time (it kills at once); podman's default would wait 10 s for SIGTERM. */
  private rmTime(seconds: string): string[] {
    return this.isDocker ? [] : ['--time', seconds];
  }

  /** The CLI also goes remote when our environment says so (it passes through to the CLI). */
  private remote(): boolean {
    return Boolean(this.config.container_host || process.env.CONTAINER_HOST || process.env.DOCKER_HOST);
  }

  /** The CLI's environment: CONTAINERS_CONF passes through from ours; container_host selects a remote engine. */
  private cliEnv(extra: Record<string, string> = {}): Record<string, string> {
    const env: Record<string, string> = { ...extra };
    if (this.config.container_host) env.CONTAINER_HOST = env.DOCKER_HOST = this.config.container_host;
    return env;
  }

  private cli(args: string[], extraEnv?: Record<string, string>, input?: string): Promise<CommandResult> {
    return runCommand(this.config.container_executable, args, {
      env: this.cliEnv(extraEnv),
      ...(input !== undefined ? { input } : {}),
    });
  }

  /** `podman run` up to the environment: name, labels, published port (none given: the engine picks), limits. */
  private baseRunArgs(name: string, labels: Record<string, string>, hostPort?: number): string[] {
    const c = this.config;
    // podman replaces a container left by an earlier run itself (one CLI call less per start); docker cannot.
    const args = ['run', '--detach', '--rm', '--init', ...(this.isDocker ? [] : ['--replace']), '--name', name];
    for (const [k, v] of Object.entries(labels)) args.push('--label', `${k}=${v}`);
    args.push(
      '--publish',
      `${c.container_publish_address.includes(':') ? `[${c.container_publish_address}]` : c.container_publish_address}:${hostPort ?? ''}:5900`,
    );
    args.push('--network', c.container_network);
    args.push(
      '--shm-size',
      c.container_shm_size,
      '--memory',
      c.container_memory,
      '--cpus',
      c.container_cpus,
      '--pids-limit',
      String(c.container_pids_limit),
    );
    args.push('--pull', c.container_pull);
    args.push(...hardeningRunArgs());
    return args;
  }

  /** A pooled console's environment: the agent's display and release settings, no node, no secrets. */
  private poolEnvironment(): Record<string, string> {
    const c = this.config;
    return {
      ...consoleEnvironment({
        app: 'redfish-graphical',
        appInfo: {},
        readOnly: c.read_only,
        ...(c.display_width ? { displayWidth: c.display_width } : {}),
        ...(c.display_height ? { displayHeight: c.display_height } : {}),
        ...(c.kvm_release_after !== undefined ? { kvmReleaseAfter: c.kvm_release_after } : {}),
      }),
      AWAIT_APP_INFO: 'True',
    };
  }

  /** The argv of `podman run`: everything but the secret values (tests check that). No `hostPort`: the engine picks one. */
  runArgs(
    req: StartRequest,
    secrets?: ReadonlySet<string>,
    hostPort?: number,
  ): { args: string[]; env: Record<string, string> } {
    const c = this.config;
    const { env: all, mount } = containerEnvironment(req, c);
    const args = this.baseRunArgs(consoleName(req.node), consoleLabels(req.node, c.agent_host), hostPort);
    const childEnv: Record<string, string> = {};
    for (const [k, v] of Object.entries(all)) {
      if (isSecretVariable(k)) {
        if (secrets?.has(k)) {
          const m = secretMount(req.node, k);
          args.push('--secret', m.option, '--env', `${m.fileVariable}=${m.path}`);
        } else {
          args.push('--env', k); // value comes from the CLI's environment, never argv
          childEnv[k] = v;
        }
      } else args.push('--env', `${k}=${v}`);
    }
    if (mount) args.push('--volume', `${mount.hostPath}:${mount.containerPath}:ro`);
    args.push(c.console_image);
    return { args, env: childEnv };
  }

  async start(req: StartRequest): Promise<ConsoleEndpoint> {
    const name = consoleName(req.node);
    const secrets = secretsOf(req);
    const fail = this.failer(req.node, secrets);
    // A container of an earlier run: podman's `run --replace` removes it; for docker it goes first (its exit code
    // does not matter). Each CLI call costs ~0.1 s of CPU, and these were most of the time before the container ran.
    let staleRemoved: Promise<unknown> | undefined;
    const removeStale = (): Promise<unknown> => (staleRemoved ??= this.cli(['rm', '--force', name]));
    let secretNames: ReadonlySet<string> | undefined;
    try {
      if (this.pool.serves(req)) {
        const pooled = await this.pool.take(req, (n) => this.port(n, req.node));
        if (pooled) return await this.awaitGreeting(pooled, fail);
      }
      if (this.isDocker) await removeStale();
      if (this.credentials === 'secret') secretNames = await this.createSecrets(req, removeStale);
      const endpoint = await this.run(req, secretNames, fail);
      return await this.awaitGreeting(endpoint, fail);
    } catch (err) {
      const logs = await this.cli(['logs', '--tail', '50', name]).catch(() => undefined);
      if (logs?.stdout || logs?.stderr)
        this.log.warn(
          { node: req.node, logs: scrubSecrets(`${logs.stdout}${logs.stderr}`, secrets) },
          'console container logs (start failed)',
        );
      await this.cli(['rm', '--force', name]).catch(() => undefined);
      if (secretNames) await this.removeSecrets(req.node);
      if (err instanceof ProviderError) throw err;
      throw fail((err as Error).message);
    }
  }

  /**
   * `podman run`, and the endpoint it published. A local engine publishes on a port the agent picked, which saves
   * asking for it afterwards: one `podman port` less per start (~0.1 s of CPU while the console boots on a machine
   * where the start is CPU-bound). A remote engine (container_host) publishes on its own host, so it picks the port.
   */
  private async run(
    req: StartRequest,
    secretNames: ReadonlySet<string> | undefined,
    fail: (m: string) => ProviderError,
  ): Promise<ConsoleEndpoint> {
    const address = this.config.container_publish_address;
    const remote = this.remote();
    for (let attempt = 1; ; attempt++) {
      const hostPort = remote ? undefined : await pickFreePort(address);
      const { args, env } = this.runArgs(req, secretNames, hostPort);
      const run = await this.cli(args, env);
      if (run.code === 0)
        return hostPort ? { host: address, port: hostPort } : await this.port(consoleName(req.node), req.node);
      // Taken by someone else between the pick and the engine's bind: pick again.
      if (hostPort && attempt < 3 && PORT_TAKEN.test(run.stderr)) continue;
      throw fail(
        `${this.config.container_executable} run failed (exit ${run.code}): ${run.stderr.trim() || run.stdout.trim()}`,
      );
    }
  }

  /** `podman port` can print several lines (IPv4 and IPv6 bindings); take the first IPv4 one. */
  private async port(name: string, node: string): Promise<ConsoleEndpoint> {
    const r = await this.cli(['port', name, '5900/tcp']);
    const endpoint = r.code === 0 ? parsePodmanPort(r.stdout, this.config.container_publish_address) : undefined;
    if (!endpoint)
      throw new ProviderError(
        this.name,
        node,
        `cannot read the published port of ${name}: ${r.stderr.trim() || JSON.stringify(r.stdout.trim())}`,
      );
    return endpoint;
  }

  /**
   * Podman secrets (value from the CLI's environment), mounted as files: not even `podman inspect` shows the values.
   * One left by an earlier run ("name in use") is replaced once the stale container is gone.
   */
  private async createSecrets(req: StartRequest, removeStale: () => Promise<unknown>): Promise<ReadonlySet<string>> {
    const { env } = containerEnvironment(req, this.config);
    const mounts = await createPodmanSecrets(
      (args, extra) => this.cli(args, extra),
      req.node,
      env,
      this.config.agent_host,
      removeStale,
    );
    return new Set(mounts.map((m) => m.variable));
  }

  private async removeSecrets(node: string): Promise<void> {
    if (this.credentials !== 'secret') return;
    await removePodmanSecrets((args) => this.cli(args), node);
  }

  async stop(node: string): Promise<void> {
    const name = consoleName(node);
    const time = (t: string) => this.rmTime(t);
    let r = await this.cli(['rm', '--force', ...time('5'), name]);
    // The container may stop by itself between podman's SIGTERM timeout and its SIGKILL ("container state
    // improper"), and --rm may remove it meanwhile: try once more, then accept a container that is gone.
    if (r.code !== 0 && !/no such container|no container with name/i.test(r.stderr))
      r = await this.cli(['rm', '--force', ...time('0'), name]);
    if (r.code !== 0 && !/no such container|no container with name/i.test(r.stderr)) {
      const exists = await this.cli(['inspect', '--format', '{{.Id}}', name]);
      if (exists.code === 0)
        throw new ProviderError(
          this.name,
          node,
          `${this.config.container_executable} rm ${name} failed: ${r.stderr.trim()}`,
        );
    }
    await this.removeSecrets(node);
  }

  /** Every console of this agent, and the pooled consoles nobody took. */
  async stopAll(): Promise<void> {
    for (const rec of await this.list()) await this.stop(rec.node);
    if (this.pool.size > 0) await this.pool.drain();
  }

  /** Starts pooled consoles until container_pool_size run (container_pool_size 0: nothing); resident: opens their claims ahead. */
  async prepare(opts: PrepareOptions = {}): Promise<void> {
    await this.pool.fill();
    if (opts.resident && this.pool.size > 0) await this.pool.openClaimsAhead();
  }

  dispose(): Promise<void> {
    return this.pool.dispose();
  }

  async list(): Promise<ConsoleRecord[]> {
    const r = await this.cli([
      'ps',
      '--all',
      '--filter',
      `label=${LABEL_AGENT}=${this.config.agent_host}`,
      '--format',
      'json',
    ]);
    if (r.code !== 0)
      throw new ProviderError(
        this.name,
        undefined,
        `${this.config.container_executable} ps failed: ${r.stderr.trim()}`,
      );
    return parsePs(r.stdout);
  }
}

/** The consoles in `ps` output: by node label, or (a taken pooled console) by name. */
export function parsePs(out: string): ConsoleRecord[] {
  const records: ConsoleRecord[] = [];
  const prefix = consoleName('');
  for (const { name, labels, running } of parsePsRows(out)) {
    // A pooled console has no node label (labels are fixed at creation): once taken, its name says the node.
    const claimed =
      labels[LABEL_POOL] && name.startsWith(prefix) && !name.startsWith(POOL_NAME_PREFIX)
        ? name.slice(prefix.length)
        : undefined;
    const node = labels[LABEL_NODE] ?? claimed;
    if (node) records.push({ node, name, running });
  }
  return records;
}

/** @public The provider's factory: load-provider.ts imports it by name (container_provider). */
export default (ctx: ProviderContext): ConsoleProvider => new PodmanProvider(ctx);
