import { type Duplex, duplexPair } from 'node:stream';
import type { Logger } from '../log.js';
import { ByteReader } from '../rfb/byte-reader.js';
import { RfbError } from '../rfb/errors.js';
import { WebSocket } from 'ws';
import type { BmcSession } from './bmc-login.js';
import { openBmcRfb } from './bmc-socket.js';
import { DirectKvmError, inStep } from './errors.js';
import { IDRAC_HEARTBEAT_MS, IDRAC_WINDOW_CLOSE, IdracFixup } from './idrac-fixup.js';
import { loginBmcweb } from './login-bmcweb.js';
import { loginIdrac } from './login-idrac.js';
import type { DirectTarget } from '../contracts/direct-target.js';
import { bmcTlsOptions, type BmcTlsOptions } from './tls-options.js';
import { serveViewerHandshake } from './viewer-handshake.js';

export interface DirectKvmOptions {
  log: Logger;
  /** Bounds each HTTP request, the socket's opening and the BMC's RFB handshake. */
  timeoutMs: number;
  /** iDRAC heartbeat interval (default 20 s, what the BMC expects). */
  heartbeatMs?: number;
  /** Ask the viewer for VNC authentication with this password (the agent's relay); without it, security None. */
  viewerPassword?: string;
  /** Called as each step ends, with its duration (the probe prints them). */
  onStep?: (step: 'login' | 'kvm', ms: number) => void;
}

export interface DirectKvm {
  /** Standard RFB as any VNC server speaks it: version, security None, ServerInit with the true pixel format. */
  stream: Duplex;
  /** Ends the console socket (iDRAC: window-close first); openDirectKvm's also logs out. Idempotent; rejects only on a failed logout. */
  close(): Promise<void>;
}

// How long close() waits for the BMC to acknowledge the socket's close before dropping it.
const CLOSE_WAIT_MS = 2000;

/** A logged-in web session on a BMC, with the TLS rule its requests and sockets follow. */
export interface BmcLogin {
  session: BmcSession;
  tls: BmcTlsOptions;
}

/** Logs in to the BMC in its vendor's dialect; rejects with a DirectKvmError('login') naming the cause. */
export async function loginBmc(target: DirectTarget, timeoutMs: number): Promise<BmcLogin> {
  const login = target.vendor === 'idrac9' ? loginIdrac : loginBmcweb;
  try {
    const tls = bmcTlsOptions(target);
    return { session: await login(target, tls, timeoutMs), tls };
  } catch (err) {
    throw inStep('login', err);
  }
}

/**
 * Logs in to the BMC in its vendor's dialect and opens its KVM as a plain RFB stream, ready for a viewer (or the
 * proxy's console session in place of its TCP connection to x11vnc). The BMC's handshake is done here, so a busy
 * console or a refused login rejects this promise with a DirectKvmError naming the step. close() also logs out.
 */
export async function openDirectKvm(target: DirectTarget, opts: DirectKvmOptions): Promise<DirectKvm> {
  const t0 = performance.now();
  const login = await loginBmc(target, opts.timeoutMs);
  opts.onStep?.('login', performance.now() - t0);
  const log = opts.log.child({ bmc: new URL(target.address).host, vendor: target.vendor });
  log.info('direct kvm: logged in');
  let kvm: DirectKvm;
  try {
    kvm = await openKvmStream(login, target, opts);
  } catch (err) {
    await login.session.logout().catch((e: unknown) => log.warn({ err: inStep('logout', e).message }, 'logout failed'));
    throw err;
  }
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await kvm.close();
      try {
        await login.session.logout();
        log.info('direct kvm: logged out');
      } catch (err) {
        throw inStep('logout', err);
      }
    })();
    return closing;
  };
  return { stream: kvm.stream, close };
}

/**
 * Opens one KVM socket of a logged-in session as a plain RFB stream (one per viewer: the BMC's RFB server has a
 * client per socket). close() ends the socket, not the session.
 */
export async function openKvmStream(login: BmcLogin, target: DirectTarget, opts: DirectKvmOptions): Promise<DirectKvm> {
  const log = opts.log.child({ bmc: new URL(target.address).host, vendor: target.vendor });
  const t0 = performance.now();
  let bmc: Awaited<ReturnType<typeof openBmcRfb>>;
  try {
    const spec = await login.session.kvmSocket();
    bmc = await openBmcRfb(spec, login.tls, opts.timeoutMs);
  } catch (err) {
    throw inStep('kvm', err);
  }
  opts.onStep?.('kvm', performance.now() - t0);
  const { ws } = bmc;
  log.info({ width: bmc.init.width, height: bmc.init.height, name: bmc.init.name }, 'direct kvm: console open');

  const [inner, stream] = duplexPair();
  const toBmc = (b: Buffer) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(b);
  };
  const toViewer = (b: Buffer) => {
    // Backpressure: a slow viewer pauses the BMC socket rather than growing a buffer.
    if (!inner.destroyed && !inner.write(b)) ws.pause();
  };
  inner.on('drain', () => ws.resume());
  const fixup = target.vendor === 'idrac9' ? new IdracFixup({ toViewer, toBmc, log }) : undefined;
  const viewerInit = fixup ? IdracFixup.viewerServerInit(bmc.init) : bmc.init;

  let closing: Promise<void> | undefined;
  const endSocket = (): Promise<void> => {
    fixup?.stopHeartbeat();
    if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        ws.terminate();
        resolve();
      }, CLOSE_WAIT_MS);
      timer.unref();
      ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      if (ws.readyState === WebSocket.OPEN) {
        if (fixup) ws.send(IDRAC_WINDOW_CLOSE);
        ws.close(1000, 'viewer closed');
      }
    });
  };
  const close = (): Promise<void> => {
    closing ??= endSocket().then(() => void inner.destroy());
    return closing;
  };
  const fail = (err: unknown) => {
    log.warn({ err: err instanceof Error ? err.message : String(err) }, 'direct kvm: relay failed');
    inner.destroy(err instanceof Error ? err : new Error(String(err)));
    void endSocket();
  };

  // BMC -> viewer: held until the viewer's handshake is done, then relayed (through the fix-up for iDRAC).
  const held: Buffer[] = bmc.early.length > 0 ? [bmc.early] : [];
  let relaying = false;
  const fromBmc = (b: Buffer) => {
    try {
      if (fixup) fixup.fromBmc(b);
      else toViewer(b);
    } catch (err) {
      fail(err);
    }
  };
  ws.on('message', (d: Buffer) => (relaying ? fromBmc(d) : held.push(d)));
  ws.on('error', (e) => log.warn({ err: e.message }, 'direct kvm: console socket error'));
  ws.on('close', (code, reason) => {
    fixup?.stopHeartbeat();
    if (!closing) log.info({ code, reason: reason.toString() }, 'direct kvm: the BMC closed the console');
    inner.end();
  });
  inner.on('error', () => {});
  inner.on('close', () => void endSocket());

  // Viewer side: the handshake, then viewer -> BMC.
  const viewer = new ByteReader();
  const onViewerData = (b: Buffer) => viewer.push(b);
  inner.on('data', onViewerData);
  inner.once('end', () => viewer.fail(new RfbError('the viewer closed the stream', 'closed')));
  fixup?.startHeartbeat(opts.heartbeatMs ?? IDRAC_HEARTBEAT_MS);
  serveViewerHandshake(viewer, (b) => void inner.write(b), viewerInit, opts.viewerPassword).then(
    () => {
      inner.off('data', onViewerData);
      const fromViewer = (b: Buffer) => {
        try {
          if (fixup) fixup.fromViewer(b);
          else toBmc(b);
        } catch (err) {
          fail(err);
        }
      };
      const rest = viewer.drain();
      if (rest.length > 0) fromViewer(rest);
      inner.on('data', fromViewer);
      relaying = true;
      for (const b of held.splice(0)) fromBmc(b);
    },
    (err: unknown) => fail(new DirectKvmError('rfb', `viewer handshake: ${(err as Error).message}`)),
  );
  return { stream, close };
}
