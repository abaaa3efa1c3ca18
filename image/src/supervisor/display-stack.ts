/**
 * The display: Xvfb and the x11vnc that serves it, each started when missing and its backoff allows. x11vnc belongs
 * to its Xvfb: when Xvfb has to start again, whatever ran on the old display (x11vnc, and through `dropDependents`
 * the browser) goes first.
 */
import type { Child } from './child-process.js';
import type { ChildHost } from './supervisor-state.js';
import { installedPreload, startX11vnc, waitForRfb, writePasswordFile } from './x11vnc.js';
import { X11vncViewers } from './x11vnc-viewers.js';
import { startXvfb, type RunningXvfb } from './xvfb.js';

export interface DisplaySettings {
  width: number;
  height: number;
  readOnly: boolean;
  vncPort: number;
  vncPassword?: string;
  debug: boolean;
}

/**
 * States of each child: absent (not started, or dead and waiting for its backoff) or running; x11vnc is also
 * ready once it answers with an RFB greeting, which resolves `vncReady` the first time.
 */
export type DisplayChildState = 'absent' | 'running';

export class DisplayStack {
  private xvfb: RunningXvfb | undefined;
  private x11vnc: Child | undefined;
  /** Our own connections to the VNC port (readiness probes), which the viewer count must not take for viewers. */
  readonly probePorts = new Set<number>();
  private readonly preload = installedPreload();
  /** The viewers as x11vnc reports them; undefined when x11vnc runs without its preload (then see probePorts). */
  readonly viewers = this.preload ? new X11vncViewers() : undefined;
  private onVncReady: (() => void) | undefined;
  /** Resolves the first time x11vnc answers. */
  readonly vncReady: Promise<void>;

  constructor(
    readonly settings: DisplaySettings,
    private readonly runtimeDir: string,
    private readonly xauthority: string,
    private readonly host: ChildHost,
    /** Whether x11vnc should read the password file again for each client (a node's password is still to come). */
    private readonly rereadPassword: () => boolean,
  ) {
    this.vncReady = new Promise<void>((resolve) => {
      this.onVncReady = resolve;
    });
  }

  get display(): RunningXvfb | undefined {
    return this.xvfb;
  }

  childState(child: 'xvfb' | 'x11vnc'): DisplayChildState {
    return (child === 'xvfb' ? this.xvfb : this.x11vnc) ? 'running' : 'absent';
  }

  /** A node's password: x11vnc runs with "read:" while waiting for it, so it reads the file again for the next client. */
  setVncPassword(password: string): void {
    this.settings.vncPassword = password;
    writePasswordFile(this.runtimeDir, password);
  }

  /**
   * Starts whichever child is missing and due. Returns the running Xvfb, or undefined while there is none (it is
   * waiting for its backoff, or failed to start).
   */
  async reconcile(dropDependents: () => Promise<void>): Promise<RunningXvfb | undefined> {
    if (!this.xvfb && !(await this.startXvfb(dropDependents))) return undefined;
    const xvfb = this.xvfb;
    if (xvfb && !this.x11vnc && this.host.due('x11vnc')) this.startX11vnc(xvfb);
    return xvfb;
  }

  private async startXvfb(dropDependents: () => Promise<void>): Promise<boolean> {
    const host = this.host;
    if (!host.due('xvfb')) return false;
    // Anything left from the old display goes with it, without grace: it cannot draw or serve anything any more.
    const old = this.x11vnc;
    this.x11vnc = undefined;
    await Promise.all([dropDependents(), old?.stop(200)]);
    const xvfb = await startXvfb({ ...this.settings, authFile: this.xauthority }, host.log).catch((err: unknown) => {
      host.log.error({ err: (err as Error).message }, 'Xvfb failed to start');
      host.died('xvfb', 'start failed');
      return undefined;
    });
    if (!xvfb) return false;
    this.xvfb = xvfb;
    host.started('xvfb');
    host.state.display = xvfb.display;
    host.state.xvfbPid = xvfb.pid;
    host.log.info({ child: 'xvfb', childPid: xvfb.pid, display: xvfb.display }, 'Xvfb ready');
    host.changed();
    void xvfb.exited.then((how) => {
      if (this.xvfb !== xvfb) return;
      this.xvfb = undefined;
      host.state.xvfbPid = undefined;
      host.died('xvfb', how);
    });
    return true;
  }

  private startX11vnc(xvfb: RunningXvfb): void {
    const host = this.host;
    const { vncPassword, vncPort, readOnly } = this.settings;
    const passwordFile = vncPassword ? writePasswordFile(this.runtimeDir, vncPassword) : undefined;
    const child = startX11vnc(
      {
        display: xvfb.display,
        authFile: xvfb.authFile,
        port: vncPort,
        readOnly,
        ...(passwordFile ? { passwordFile, rereadPassword: this.rereadPassword() } : {}),
      },
      host.log,
      this.preload,
    );
    this.x11vnc = child;
    if (child.viewerReports) this.viewers?.follow(child.viewerReports);
    host.started('x11vnc');
    host.state.x11vncPid = child.pid;
    host.changed();
    void child.exited.then((how) => {
      if (this.x11vnc !== child) return;
      this.x11vnc = undefined;
      host.state.x11vncPid = undefined;
      host.died('x11vnc', how);
    });
    // Readiness in the background: the browser starts meanwhile.
    void waitForRfb('127.0.0.1', vncPort, 60_000, this.probePorts).then(
      () => {
        if (this.x11vnc !== child) return;
        host.log.info({ child: 'x11vnc', childPid: child.pid, port: vncPort }, 'x11vnc ready');
        this.onVncReady?.();
        this.onVncReady = undefined;
      },
      (err: unknown) =>
        this.x11vnc === child && host.log.warn({ err: (err as Error).message }, 'x11vnc is not answering yet'),
    );
  }

  /** Stops both children together (the console is stopping: their deaths are not restarted). */
  async stop(graceMs: number): Promise<void> {
    const x11vnc = this.x11vnc;
    const xvfb = this.xvfb;
    this.x11vnc = undefined;
    this.xvfb = undefined;
    await Promise.all([x11vnc?.stop(graceMs), xvfb?.stop(graceMs)]);
  }
}
