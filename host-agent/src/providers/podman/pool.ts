/**
 * The podman provider's pool (container_pool_size): consoles started before any node asks for one, with
 * AWAIT_APP_INFO=1, so their container, node, Xvfb, x11vnc and Chromium are up already. A start takes the oldest:
 * `podman exec -i … bmc-console assign` hands it the node's APP_INFO and VNC password on stdin (the console takes
 * one node only, so this is also the claim: two agents cannot both take one), `podman rename` names it after the
 * node, and the console logs in to the BMC for its first viewer.
 *
 * A resident agent (`serve`) opens each pooled console's claim ahead: the `podman exec` is already running, waiting
 * for its stdin, when a start comes (openClaimsAhead). Short CLI commands exec at the start.
 *
 * A pooled console serves only what it was started for: APP=redfish-graphical, the agent's read_only and a VNC
 * password. A CA bundle cannot be mounted into a running container, so its text travels in the assignment (at most
 * CONSOLE_DEFAULTS.assignCaBundleMaxBytes of PEM). Anything else starts cold.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { assignmentSchema, type Assignment } from '@bmc-console/common/contracts/assignment';
import type { Logger } from '@bmc-console/common/log';
import { planCaMount } from '../../ca-mount.js';
import type { AgentConfig } from '../../config.js';
import { withLock } from '../../file-lock.js';
import type { CommandResult, OpenCommand } from '../../run-command.js';
import { consoleName, LABEL_AGENT, LABEL_CONSOLE } from '../console-names.js';
import { pickFreePort, PORT_TAKEN } from './port.js';
import { parsePsRows } from './ps.js';
import type { ConsoleEndpoint, StartRequest } from '../provider.js';

/** Value: the agent host. Pooled consoles carry no node label (labels are fixed at creation); a claimed one is named after its node. */
export const LABEL_POOL = 'io.bmc-console.pool';
/** The host port a local engine published on, so a claim needs no `podman port`. */
export const LABEL_PORT = 'io.bmc-console.port';
/** No node id starts with '-', so no node's console is ever named like this. */
export const POOL_NAME_PREFIX = 'bmc-console--pool-';

export interface PooledConsole {
  name: string;
  /** Seconds since the epoch: the oldest has had the longest to warm up. */
  created: number;
  /** The image it runs (podman; docker's ps does not say). */
  imageId?: string;
  endpoint?: ConsoleEndpoint;
}

/** What the pool needs from the provider that owns it. */
export interface PoolHost {
  config: AgentConfig;
  log: Logger;
  cli(args: string[], extraEnv?: Record<string, string>, input?: string): Promise<CommandResult>;
  /** The CLI started now, its stdin written later. */
  openCli(args: string[]): OpenCommand;
  /** `podman run` argv up to (not including) the environment and image: name, labels, port, network, limits. */
  baseRunArgs(name: string, labels: Record<string, string>, hostPort?: number): string[];
  /** The environment of a pooled console (no node, no secrets). */
  poolEnvironment(): Record<string, string>;
  /** Whether the engine is remote (it picks the host port). */
  remote(): boolean;
  /** Removes a container at once, running or not. */
  remove(name: string): Promise<unknown>;
}

/** A pooled console's `bmc-console assign`, started ahead and waiting for the assignment on its stdin. */
interface OpenClaim {
  pooled: PooledConsole;
  assign: OpenCommand;
}

export class PodmanPool {
  private filling: Promise<void> | undefined;

  /** Claims opened ahead (resident agent), by pooled console name. */
  private readonly openClaims = new Map<string, OpenClaim>();

  constructor(private readonly host: PoolHost) {}

  get size(): number {
    return this.host.config.container_pool_size;
  }

  /** Whether a pooled console can serve this request. */
  serves(req: StartRequest): boolean {
    return (
      this.size > 0 &&
      req.app === 'redfish-graphical' &&
      req.readOnly === this.host.config.read_only &&
      Boolean(req.vncPassword)
    );
  }

  /**
   * The assignment for `req`: APP_INFO and VNC password, and the text of a CA bundle that `verify_ca` names. Undefined
   * when the bundle is not one a pooled console can take (unreadable, too large, not PEM): the cold start mounts it,
   * or says what is wrong with it, instead of a pooled console refusing it.
   */
  private async assignment(req: StartRequest): Promise<string | undefined> {
    let plan: ReturnType<typeof planCaMount>;
    try {
      plan = planCaMount(req.node, req.appInfo);
    } catch {
      return undefined;
    }
    let caBundle: string | undefined;
    if (plan.mount) {
      caBundle = await readFile(plan.mount.hostPath, 'utf8').catch(() => undefined);
      if (caBundle === undefined) return undefined;
    }
    // The console parses it with the same schema: what it would refuse (a bundle that is not PEM) starts cold here.
    const checked = assignmentSchema.safeParse({
      appInfo: plan.appInfo,
      vncPassword: req.vncPassword,
      ...(caBundle ? { caBundle } : {}),
    } satisfies Assignment);
    return checked.success ? JSON.stringify(checked.data) : undefined;
  }

  /** The running pooled consoles, oldest first. */
  async list(): Promise<PooledConsole[]> {
    const r = await this.host.cli([
      'ps',
      '--filter',
      `label=${LABEL_POOL}=${this.host.config.agent_host}`,
      '--format',
      'json',
    ]);
    if (r.code !== 0) throw new Error(`${this.host.config.container_executable} ps failed: ${r.stderr.trim()}`);
    return parsePoolPs(r.stdout, this.host.config.container_publish_address);
  }

  /**
   * Claims a pooled console for `req.node` and assigns it the node; undefined when none could be (the caller starts
   * one cold). `port` reads the published port of a console whose label does not say it (remote engine).
   */
  async take(
    req: StartRequest,
    port: (name: string) => Promise<ConsoleEndpoint>,
  ): Promise<ConsoleEndpoint | undefined> {
    const log = this.host.log.child({ node: req.node });
    // stdin only: APP_INFO and the VNC password never reach argv or the container's environment.
    const input = await this.assignment(req);
    if (input === undefined) return undefined;
    const tried = new Set<string>();
    // Claims opened ahead first (no `podman ps`, no exec to wait for), oldest console first.
    const opened = [...this.openClaims.values()].sort((a, b) => a.pooled.created - b.pooled.created);
    for (const { pooled, assign } of opened) {
      if (this.openClaims.get(pooled.name)?.assign !== assign || assign.exited) continue; // taken by a start meanwhile, or its exec ended
      this.openClaims.delete(pooled.name);
      tried.add(pooled.name);
      const endpoint = await this.claim(req, pooled, () => assign.finish(input), port, log);
      if (endpoint) return endpoint;
    }
    for (const pooled of await this.list().catch(() => [])) {
      if (tried.has(pooled.name)) continue;
      const endpoint = await this.claim(
        req,
        pooled,
        () => this.host.cli(['exec', '-i', pooled.name, 'bmc-console', 'assign'], undefined, input),
        port,
        log,
      );
      if (endpoint) return endpoint;
    }
    return undefined;
  }

  /** Assigns `req.node` to one pooled console (`assign` runs its `bmc-console assign`) and renames it after the node. */
  private async claim(
    req: StartRequest,
    pooled: PooledConsole,
    assign: () => Promise<CommandResult>,
    port: (name: string) => Promise<ConsoleEndpoint>,
    log: Logger,
  ): Promise<ConsoleEndpoint | undefined> {
    const name = consoleName(req.node);
    // The assignment is the claim (a console takes one node, and says so to a second agent), and it comes first:
    // the console starts on the node's BMC while the rename below runs.
    const a = await assign();
    if (a.code !== 0) {
      if (/has its node already/.test(a.stderr)) {
        log.debug({ pooled: pooled.name }, 'pooled console taken meanwhile');
        return undefined;
      }
      // Its messages never hold the secrets (the console checks the assignment like its environment).
      log.warn(
        { pooled: pooled.name, exit: a.code, err: a.stderr.trim().slice(0, 500) },
        'a pooled console refused its node; removing it',
      );
      await this.host.remove(pooled.name);
      return undefined;
    }
    let r = await this.host.cli(['rename', pooled.name, name]);
    if (r.code !== 0 && /in use|already/i.test(r.stderr)) {
      // A container of an earlier run holds the node's name.
      await this.host.remove(name);
      r = await this.host.cli(['rename', pooled.name, name]);
    }
    if (r.code !== 0) {
      log.warn(
        { pooled: pooled.name, err: r.stderr.trim().slice(0, 500) },
        'cannot rename a pooled console after the node; removing it',
      );
      await this.host.remove(pooled.name);
      return undefined;
    }
    log.info({ pooled: pooled.name }, 'console taken from the pool');
    return pooled.endpoint ?? (await port(name));
  }

  /**
   * For an agent that keeps running (`serve`): starts each pooled console's `bmc-console assign` now, waiting for
   * its stdin, so that a start only writes the assignment. That saves the exec and the assign command's start-up
   * (node loading the CLI) on the start's path: 0.5-0.6 s here, measured with `podman exec`. Each open claim is a
   * `podman exec` client on the host and a small node process in the pooled console until a start or dispose().
   */
  async openClaimsAhead(): Promise<void> {
    const pooled = await this.list();
    // A console another agent took (renamed, no longer listed) keeps our waiting exec until it is closed.
    for (const [name, claim] of this.openClaims) {
      if (pooled.some((p) => p.name === name)) continue;
      this.openClaims.delete(name);
      void claim.assign.finish('', 10_000);
    }
    for (const p of pooled) {
      if (this.openClaims.has(p.name)) continue;
      const claim: OpenClaim = {
        pooled: p,
        assign: this.host.openCli(['exec', '-i', p.name, 'bmc-console', 'assign']),
      };
      this.openClaims.set(p.name, claim);
      // Its exec ends with its container (stopped, removed, drained).
      void claim.assign.done.then(() => {
        if (this.openClaims.get(p.name) === claim) this.openClaims.delete(p.name);
      });
    }
  }

  /** Closes the claims opened ahead: each `bmc-console assign` reads an empty stdin and ends, its console untouched. */
  async dispose(): Promise<void> {
    const open = [...this.openClaims.values()];
    this.openClaims.clear();
    await Promise.all(open.map((c) => c.assign.finish('', 10_000)));
  }

  /**
   * Starts pooled consoles until `container_pool_size` run (without waiting for them to answer). One fill at a time
   * per process, and across processes (short CLI commands) under a lock in the state directory.
   */
  fill(): Promise<void> {
    if (this.size <= 0) return Promise.resolve();
    const dir = this.host.config.state_dir;
    this.filling ??= mkdir(dir, { recursive: true, mode: 0o700 })
      .then(() => withLock(join(dir, 'pool.lock'), () => this.fillLocked()))
      .finally(() => (this.filling = undefined));
    return this.filling;
  }

  private async fillLocked(): Promise<void> {
    let pooled = await this.list();
    // A rebuilt or changed console_image: pooled consoles of the old one go, so that no start gets old code.
    const current = await this.host.cli(['image', 'inspect', '--format', '{{.Id}}', this.host.config.console_image]);
    const imageId = current.code === 0 ? current.stdout.trim() : undefined;
    const stale = imageId ? pooled.filter((p) => p.imageId && p.imageId !== imageId) : [];
    if (stale.length) {
      this.host.log.info({ pooled: stale.map((p) => p.name) }, 'removing pooled consoles of an older console image');
      await Promise.all(stale.map((p) => this.host.remove(p.name)));
      pooled = pooled.filter((p) => !stale.includes(p));
    }
    for (let i = pooled.length; i < this.size; i++) await this.startOne();
  }

  private async startOne(): Promise<void> {
    const c = this.host.config;
    const name = `${POOL_NAME_PREFIX}${randomBytes(4).toString('hex')}`;
    const env = this.host.poolEnvironment();
    for (let attempt = 1; ; attempt++) {
      const hostPort = this.host.remote() ? undefined : await pickFreePort(c.container_publish_address);
      const labels = {
        [LABEL_CONSOLE]: 'true',
        [LABEL_AGENT]: c.agent_host,
        [LABEL_POOL]: c.agent_host,
        ...(hostPort ? { [LABEL_PORT]: String(hostPort) } : {}),
      };
      const args = this.host.baseRunArgs(name, labels, hostPort);
      for (const [k, v] of Object.entries(env)) args.push('--env', `${k}=${v}`);
      args.push(c.console_image);
      const r = await this.host.cli(args);
      if (r.code === 0) {
        this.host.log.info({ pooled: name, ...(hostPort ? { port: hostPort } : {}) }, 'pooled console started');
        return;
      }
      if (hostPort && attempt < 3 && PORT_TAKEN.test(r.stderr)) continue;
      throw new Error(
        `${c.container_executable} run of pooled console ${name} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`,
      );
    }
  }

  /** Removes every pooled console nobody has taken. */
  async drain(): Promise<void> {
    const pooled = await this.list();
    await Promise.all(pooled.map((p) => this.host.remove(p.name)));
  }
}

/** `podman ps --format json` rows of unclaimed pooled consoles (running, with the pool's name), oldest first. */
export function parsePoolPs(out: string, publishAddress: string): PooledConsole[] {
  const pooled: PooledConsole[] = [];
  for (const { name, labels, running, created, imageId } of parsePsRows(out)) {
    if (!name.startsWith(POOL_NAME_PREFIX) || !running) continue;
    const port = Number(labels[LABEL_PORT]);
    pooled.push({
      name,
      created,
      ...(imageId ? { imageId } : {}),
      ...(Number.isInteger(port) && port > 0 ? { endpoint: { host: publishAddress, port } } : {}),
    });
  }
  return pooled.sort((a, b) => a.created - b.created);
}
