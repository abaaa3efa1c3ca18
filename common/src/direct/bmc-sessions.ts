import type { DirectTarget } from '../contracts/direct-target.js';
import type { Logger } from '../log.js';
import { inStep } from './errors.js';
import { type BmcLogin, type DirectKvm, loginBmc, openKvmStream } from './open-direct-kvm.js';

export interface BmcSessionsOptions {
  log: Logger;
  /** Bounds each HTTP request, each socket's opening and the BMC's RFB handshake. */
  timeoutMs: number;
  /** How long a node's login outlives its last viewer (the image's KVM_RELEASE_AFTER; 0: log out at once). */
  releaseAfterMs: number;
  /** iDRAC heartbeat interval (default: what the BMC expects). */
  heartbeatMs?: number;
}

interface NodeLogin {
  /** The target it logged in with, as JSON: a new start with other credentials or trust gets a new login. */
  key: string;
  login: Promise<BmcLogin>;
  viewers: number;
  release?: NodeJS.Timeout;
}

/**
 * The BMC web sessions of direct consoles, one per node: the first viewer logs in, every viewer gets its own KVM
 * socket of that session, and the session is logged out `releaseAfterMs` after the node's last viewer left (so
 * a viewer who reconnects skips the login, and the BMC's session slots are freed as they are with a container).
 */
export class BmcSessions {
  private readonly nodes = new Map<string, NodeLogin>();

  constructor(private readonly opts: BmcSessionsOptions) {}

  /** Nodes with a BMC session open or opening. */
  get loggedIn(): number {
    return this.nodes.size;
  }

  /**
   * One viewer's KVM stream on `node`'s BMC; its close() ends the socket and releases the viewer's hold.
   * `viewerPassword`: the stream asks its viewer for VNC authentication (the agent's relay of a console with one).
   */
  async open(node: string, target: DirectTarget, viewerPassword?: string): Promise<DirectKvm> {
    const key = JSON.stringify(target);
    let entry = this.nodes.get(node);
    if (entry && entry.key !== key) {
      this.drop(node, entry);
      entry = undefined;
    }
    const fresh = !entry;
    entry ??= this.login(node, key, target);
    clearTimeout(entry.release);
    entry.release = undefined;
    entry.viewers++;
    const held = entry;
    try {
      let login = await held.login;
      let kvm: DirectKvm;
      try {
        kvm = await openKvmStream(login, target, this.kvmOptions(viewerPassword));
      } catch (err) {
        // A session kept for a returning viewer may have expired on the BMC: log in again, once. Not while other
        // viewers use it (then it is alive, and the refusal is the BMC's answer).
        if (fresh || held.viewers > 1) throw err;
        this.opts.log.info(
          { node, err: inStep('kvm', err).message },
          'direct kvm: kept session refused; logging in again',
        );
        const again = this.login(node, key, target);
        again.viewers = 1;
        this.replace(node, held, again);
        login = await again.login;
        kvm = await openKvmStream(login, target, this.kvmOptions(viewerPassword));
        return this.held(node, again, kvm);
      }
      return this.held(node, held, kvm);
    } catch (err) {
      this.leave(node, this.nodes.get(node) ?? held);
      throw err;
    }
  }

  /** Logs out of every node's BMC now (the proxy or agent is stopping). */
  async closeAll(): Promise<void> {
    const all = [...this.nodes.entries()];
    this.nodes.clear();
    await Promise.all(all.map(([node, e]) => this.logout(node, e)));
  }

  private kvmOptions(viewerPassword: string | undefined) {
    return {
      log: this.opts.log,
      timeoutMs: this.opts.timeoutMs,
      ...(this.opts.heartbeatMs !== undefined ? { heartbeatMs: this.opts.heartbeatMs } : {}),
      ...(viewerPassword !== undefined ? { viewerPassword } : {}),
    };
  }

  private login(node: string, key: string, target: DirectTarget): NodeLogin {
    const entry: NodeLogin = { key, login: loginBmc(target, this.opts.timeoutMs), viewers: 0 };
    this.nodes.set(node, entry);
    entry.login.then(
      () => this.opts.log.info({ node, vendor: target.vendor }, 'direct kvm: logged in to the BMC'),
      () => {
        // A failed login is not kept: the next viewer tries again.
        if (this.nodes.get(node) === entry) this.nodes.delete(node);
      },
    );
    return entry;
  }

  /** Wraps a viewer's stream so that its close() also releases the viewer's hold on the node's session. */
  private held(node: string, entry: NodeLogin, kvm: DirectKvm): DirectKvm {
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.leave(node, entry);
    };
    kvm.stream.once('close', release);
    return {
      stream: kvm.stream,
      close: async () => {
        try {
          await kvm.close();
        } finally {
          release();
        }
      },
    };
  }

  private leave(node: string, entry: NodeLogin): void {
    entry.viewers = Math.max(0, entry.viewers - 1);
    if (entry.viewers > 0 || this.nodes.get(node) !== entry) return;
    if (this.opts.releaseAfterMs <= 0) return this.drop(node, entry);
    entry.release = setTimeout(() => this.drop(node, entry), this.opts.releaseAfterMs);
    entry.release.unref();
  }

  private replace(node: string, old: NodeLogin, next: NodeLogin): void {
    clearTimeout(old.release);
    this.nodes.set(node, next);
    void this.logout(node, old);
  }

  private drop(node: string, entry: NodeLogin): void {
    clearTimeout(entry.release);
    if (this.nodes.get(node) === entry) this.nodes.delete(node);
    void this.logout(node, entry);
  }

  private async logout(node: string, entry: NodeLogin): Promise<void> {
    clearTimeout(entry.release);
    let login: BmcLogin;
    try {
      login = await entry.login;
    } catch {
      return; // never logged in
    }
    try {
      await login.session.logout();
      this.opts.log.info({ node }, 'direct kvm: logged out of the BMC');
    } catch (err) {
      this.opts.log.warn({ node, err: inStep('logout', err).message }, 'direct kvm: logout failed');
    }
  }
}
