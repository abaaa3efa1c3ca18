/**
 * The agent's RFB relays for direct consoles (`serve` only): one TCP listener per console on direct_relay_address,
 * for viewers that need a host:port speaking RFB (Ironic's own noVNC proxy). Each connection gets its own KVM socket
 * of the node's BMC login (BmcSessions), relayed both ways with backpressure; a read-only console's viewer input is
 * dropped here, since such a viewer talks to the relay without the proxy in between.
 */
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { Transform, type TransformCallback } from 'node:stream';
import type { DirectTarget } from '@bmc-console/common/contracts/direct-target';
import { BmcSessions } from '@bmc-console/common/direct/bmc-sessions';
import type { DirectKvm } from '@bmc-console/common/direct/open-direct-kvm';
import { scrubSecrets, type Logger } from '@bmc-console/common/log';
import { ClientMessages } from '@bmc-console/common/rfb/client-messages';
import type { AgentConfig } from './config.js';

interface DirectRelayOptions {
  /** The address every relay listens on (direct_relay_address). */
  address: string;
  /** Bounds each BMC request, socket opening and RFB handshake (direct_timeout). */
  timeoutMs: number;
  /** How long a node's BMC login outlives its last relay viewer. */
  releaseAfterMs: number;
  log: Logger;
}

/** The console a relay serves. */
interface ServedConsole {
  node: string;
  target: DirectTarget;
  readOnly: boolean;
  vncPassword?: string;
}

interface RelayEndpoint {
  host: string;
  port: number;
}

interface Relay {
  /** The target and read-only flag it serves, as JSON: another start gets a new relay. */
  key: string;
  server: Server;
  sessions: BmcSessions;
  viewers: Set<{ socket: Socket; kvm?: DirectKvm }>;
  endpoint: RelayEndpoint;
}

const VERSION_LENGTH = 12;

/**
 * Passes the viewer's handshake (version, security choice from RFB 3.7 on, the 16-byte VNC authentication answer
 * when the relay asks for one, ClientInit) untouched, then only the client messages that are not input (keys,
 * pointer, clipboard, power, resize).
 */
class DropViewerInput extends Transform {
  constructor(private readonly vncAuth: boolean) {
    super();
  }

  private readonly messages = new ClientMessages((m) => !m.input);
  private version = Buffer.alloc(0);
  private seen = 0;
  private handshakeLength: number | undefined;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    try {
      const out: Buffer[] = [];
      let rest = chunk;
      while (this.seen !== this.handshakeLength && rest.length > 0) {
        const take = rest.subarray(0, (this.handshakeLength ?? VERSION_LENGTH) - this.seen);
        out.push(take);
        if (this.handshakeLength === undefined) this.version = Buffer.concat([this.version, take]);
        this.seen += take.length;
        rest = rest.subarray(take.length);
        if (this.handshakeLength === undefined && this.seen === VERSION_LENGTH) {
          const minor = Number(this.version.subarray(8, 11).toString('latin1'));
          this.handshakeLength = VERSION_LENGTH + (minor >= 7 ? 1 : 0) + (this.vncAuth ? 16 : 0) + 1;
        }
      }
      if (rest.length > 0) out.push(this.messages.push(rest));
      done(null, Buffer.concat(out));
    } catch (err) {
      done(err as Error);
    }
  }
}

/** The address a listener is reached at, in host:port form for IPv6 too (brackets are the reader's job). */
function listenOn(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * The relays of an agent that keeps running, from its config: none when direct_relay_address is empty. Their BMC
 * logins are released like a console's KVM (kvm_release_after, 60 s when unset; "always": never while the console
 * runs, the longest timer Node keeps, and a stop closes the relay's login).
 */
export function directRelaysFor(cfg: AgentConfig, log: Logger): DirectRelays | undefined {
  if (cfg.direct_relay_address === '') return undefined;
  const release = cfg.kvm_release_after ?? 60;
  return new DirectRelays({
    address: cfg.direct_relay_address,
    timeoutMs: cfg.direct_timeout * 1000,
    releaseAfterMs: release === 'always' ? 2 ** 31 - 1 : release * 1000,
    log,
  });
}

export class DirectRelays {
  private readonly relays = new Map<string, Relay>();

  constructor(private readonly opts: DirectRelayOptions) {}

  /** Where node's relay listens, when it has one. */
  endpoint(node: string): RelayEndpoint | undefined {
    return this.relays.get(node)?.endpoint;
  }

  /** Nodes that have a relay. */
  nodes(): string[] {
    return [...this.relays.keys()];
  }

  /**
   * Opens node's relay (an existing one for the same target is kept, another is replaced). `vncPassword`: viewers
   * must answer VNC authentication with it (the console's, as a container's x11vnc asks). `port`: the one it had
   * before a restart, taken again when free; otherwise an ephemeral one (logged).
   */
  async open(
    node: string,
    target: DirectTarget,
    readOnly: boolean,
    { vncPassword, port }: { vncPassword?: string | undefined; port?: number | undefined } = {},
  ): Promise<RelayEndpoint> {
    const key = JSON.stringify({ target, readOnly, vncPassword });
    const existing = this.relays.get(node);
    if (existing?.key === key) return existing.endpoint;
    if (existing) await this.close(node);
    const log = this.opts.log.child({ node });
    const sessions = new BmcSessions({
      log,
      timeoutMs: this.opts.timeoutMs,
      releaseAfterMs: this.opts.releaseAfterMs,
    });
    const viewers: Relay['viewers'] = new Set();
    const served: ServedConsole = { node, target, readOnly, ...(vncPassword !== undefined ? { vncPassword } : {}) };
    const server = createServer((socket) => void this.serve(served, sessions, viewers, socket, log));
    let bound: number;
    try {
      bound = await listenOn(server, this.opts.address, port ?? 0);
    } catch (err) {
      if (port === undefined) throw err;
      log.info({ port, err: (err as Error).message }, 'direct relay: its earlier port is taken; using a new one');
      bound = await listenOn(server, this.opts.address, 0);
    }
    const endpoint = { host: this.opts.address, port: bound };
    this.relays.set(node, { key, server, sessions, viewers, endpoint });
    log.info({ host: endpoint.host, port: endpoint.port, readOnly }, 'direct relay listening');
    return endpoint;
  }

  /** Closes node's relay: its listener, its viewers' sockets and its BMC login. */
  async close(node: string): Promise<void> {
    const relay = this.relays.get(node);
    if (!relay) return;
    this.relays.delete(node);
    const closed = new Promise<void>((resolve) => relay.server.close(() => resolve()));
    for (const v of relay.viewers) {
      v.socket.destroy();
      await v.kvm?.close().catch(() => {});
    }
    relay.viewers.clear();
    await relay.sessions.closeAll();
    await closed;
    this.opts.log.info({ node }, 'direct relay closed');
  }

  /** Closes every relay (serve is stopping). */
  async closeAll(): Promise<void> {
    await Promise.all(this.nodes().map((n) => this.close(n)));
  }

  private async serve(
    { node, target, readOnly, vncPassword }: ServedConsole,
    sessions: BmcSessions,
    viewers: Relay['viewers'],
    socket: Socket,
    log: Logger,
  ): Promise<void> {
    const viewer: { socket: Socket; kvm?: DirectKvm } = { socket };
    viewers.add(viewer);
    const why = (err: unknown) => scrubSecrets(err instanceof Error ? err.message : String(err), [target.password]);
    let ended = false;
    const end = (err?: unknown) => {
      if (ended) return;
      ended = true;
      if (err !== undefined) log.warn({ err: why(err) }, 'direct relay: viewer connection failed');
      socket.destroy();
      viewers.delete(viewer);
      void viewer.kvm?.close().catch((e: unknown) => log.warn({ err: why(e) }, 'direct relay: closing the KVM failed'));
    };
    socket.on('error', end);
    socket.on('close', () => end());
    socket.setNoDelay(true);
    let kvm: DirectKvm;
    try {
      kvm = await sessions.open(node, target, vncPassword);
    } catch (err) {
      return end(err);
    }
    viewer.kvm = kvm;
    if (ended) return void kvm.close().catch(() => {});
    log.info({ readOnly }, 'direct relay: viewer connected');
    kvm.stream.on('error', end);
    kvm.stream.on('close', () => end());
    kvm.stream.pipe(socket);
    if (!readOnly) socket.pipe(kvm.stream);
    else {
      const gate = new DropViewerInput(vncPassword !== undefined);
      gate.on('error', end);
      socket.pipe(gate).pipe(kvm.stream);
    }
  }
}
