import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { NODE_ID_PATTERN } from '@bmc-console/common/contracts/node-id';
import { VIEWER_CHANNEL_PROTOCOL } from '@bmc-console/common/contracts/viewer-channel';
import { BmcSessions } from '@bmc-console/common/direct/bmc-sessions';
import { createLogger, type Logger } from '@bmc-console/common/log';
import { WebSocketServer } from 'ws';
import { parseProxyConfig, tlsRequired, type ProxyConfig } from './config.js';
import { ConsoleRoom } from './console-room.js';
import { ConsoleSession } from './console-session.js';
import { FailedTokenLimiter } from './failed-token-limiter.js';
import { ProxyMetrics } from './metrics.js';
import { ReadBufferPool } from './read-buffers.js';
import { readAdminToken, recordingRoutes } from './recording/recording-routes.js';
import { createRecorderFactory } from './recording/recording-writer.js';
import type { RecorderFactory } from './recording/session-recorder.js';
import { checkOrigin, requestScheme, sourceAddress } from './request-context.js';
import { SessionLimits } from './session-limits.js';
import { staticFileMap } from './static-files.js';
import { tokenFingerprint } from './token-fingerprint.js';
import { AgentUnavailableError, type TokenVerifier } from './token-verifier.js';
import { verifierFromConfig } from './verifier-from-config.js';

export interface RunningProxy {
  /** Base URL, e.g. https://127.0.0.1:6090 */
  url: string;
  port: number;
  metricsUrl: string | undefined;
  config: ProxyConfig;
  metrics: ProxyMetrics;
  /** Live sessions (for tests and the demo). */
  sessionCount(): number;
  /** Stops listening, closes every session with 1001 "console proxy is restarting" and logs out of every BMC. */
  close(): Promise<void>;
}

export interface ProxyDeps {
  verifier?: TokenVerifier;
  logger?: Logger;
  /** Opens session recordings; without it, consoles that must be recorded refuse their viewers (4505). */
  recorders?: RecorderFactory;
}

// Node ids follow the agent's one rule (Ironic UUIDs or names); tokens are URL-safe random strings. Anything else
// is refused before any lookup.
const NODE_RE = NODE_ID_PATTERN;
const TOKEN_RE = /^[A-Za-z0-9._~+/=-]{8,512}$/;

const VIEWER_PATHS = new Set(['/', '/index.html', '/vnc.html', '/vnc_auto.html', '/vnc_lite.html']);
/** The recording replay page (static/replay.html). */
const REPLAY_PATH = '/replay.html';

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

type Rejection = { status: number; reason: string; message: string };

/** Starts the console proxy: viewer page, /websockify relay, /api/token-status, /metrics, /healthz. */
export async function startProxy(input: unknown, deps: ProxyDeps = {}): Promise<RunningProxy> {
  const config = parseProxyConfig(input);
  const log = deps.logger ?? createLogger('bmc-console-proxy');
  // Ours is closed with the proxy (its kept-alive connections); an injected verifier belongs to the caller.
  const ownVerifier = deps.verifier ? undefined : verifierFromConfig(config);
  const verifier: TokenVerifier = deps.verifier ?? ownVerifier!;
  // Direct consoles' BMC logins, one per node, kept KVM_RELEASE_AFTER-style for a returning viewer.
  const bmcSessions = new BmcSessions({
    log,
    timeoutMs: config.direct.timeoutMs,
    releaseAfterMs: config.direct.releaseAfterSec * 1000,
  });
  const metrics = new ProxyMetrics(() => bmcSessions.loggedIn);
  const readBuffers = new ReadBufferPool();
  const limits = new SessionLimits(config.limits);
  const failedTokens = new FailedTokenLimiter(config.limits.failedTokenBurst, config.limits.failedTokenPerMinute);
  const files = staticFileMap();
  // The recordings' writer and the routes that serve them share one store (a recording still being written is not
  // served or pruned). An injected factory (tests) records without routes.
  const ownRecorders = deps.recorders ? undefined : createRecorderFactory(config.recordings, log, metrics.registry);
  const recorders: RecorderFactory | undefined = deps.recorders ?? ownRecorders;
  const recordingRequest = ownRecorders
    ? recordingRoutes({
        store: ownRecorders.store,
        key: ownRecorders.key,
        verifier,
        ...(config.recordings.adminTokenFile !== undefined
          ? { adminToken: readAdminToken(config.recordings.adminTokenFile) }
          : {}),
        replayRoles: config.recordings.replayRoles,
        failedTokens,
        sourceOf: (r) => sourceAddress(r, config),
        log,
      })
    : undefined;
  const sessions = new Set<ConsoleSession>();
  const rooms = new Map<string, ConsoleRoom>();
  const roomOf = (node: string): ConsoleRoom => {
    let room = rooms.get(node);
    if (!room) {
      room = new ConsoleRoom(node, (r) => {
        rooms.delete(r.node);
        metrics.viewers.remove({ node: r.node }); // no series left behind per node that ever had a viewer
      });
      rooms.set(node, room);
    }
    return room;
  };
  const requireTls = tlsRequired(config);
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: config.limits.maxPayloadBytes,
    clientTracking: false,
    // The side channel when the viewer offers it; otherwise the first offered protocol (e.g. noVNC's 'binary').
    handleProtocols: (offered: Set<string>) =>
      offered.has(VIEWER_CHANNEL_PROTOCOL) ? VIEWER_CHANNEL_PROTOCOL : (offered.values().next().value ?? false),
  });

  const securityHeaders = (req: IncomingMessage): Record<string, string> => ({
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer', // the viewer URL carries the token
    'x-frame-options': 'DENY',
    'cross-origin-opener-policy': 'same-origin',
    ...(requestScheme(req, config) === 'https' ? { 'strict-transport-security': 'max-age=31536000' } : {}),
  });

  const sendText = (
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    body: string,
    type = 'text/plain; charset=utf-8',
  ) => {
    res.writeHead(status, {
      ...securityHeaders(req),
      'content-type': type,
      'cache-control': 'no-store',
      'content-length': Buffer.byteLength(body),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    handleRequest(req, res).catch((err: unknown) => {
      log.error({ err: (err as Error).message, path: req.url?.split('?')[0] }, 'request failed');
      if (!res.headersSent) sendText(req, res, 500, 'internal error\n');
      else res.destroy();
    });
  };

  async function handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawUrl = req.url ?? '/';
    // `//host` paths are refused outright (open-redirect class, CVE-2021-3654 in websockify-based proxies).
    if (rawUrl.startsWith('//')) return sendText(req, res, 404, 'not found\n');
    const url = new URL(rawUrl, 'http://proxy.invalid');
    if (url.pathname === '/healthz') return sendText(req, res, 200, 'ok\n');
    if (url.pathname === '/metrics' && config.metrics.enabled && config.metrics.port === undefined)
      return serveMetrics(req, res);
    if (requireTls && requestScheme(req, config) !== 'https') {
      metrics.rejections.inc({ reason: 'tls-required' });
      return sendText(req, res, 403, 'TLS required: use https\n');
    }
    if (url.pathname === '/api/token-status' && req.method === 'POST') return tokenStatus(req, res);
    if (recordingRequest && (await recordingRequest(req, res))) return;
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendText(req, res, 405, 'method not allowed\n');
    const file = VIEWER_PATHS.has(url.pathname)
      ? files.get('/static/index.html')
      : url.pathname === REPLAY_PATH
        ? files.get('/static/replay.html')
        : files.get(url.pathname);
    if (!file) return sendText(req, res, 404, 'not found\n');
    const body = file.body;
    res.writeHead(200, {
      ...securityHeaders(req),
      'content-type': file.type,
      'content-length': body.length,
      'cache-control': file.type.startsWith('text/html') ? 'no-store' : 'public, max-age=300',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  async function serveMetrics(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await metrics.registry.metrics();
    sendText(req, res, 200, body, metrics.registry.contentType);
  }

  /** Lets the viewer learn whether its token still works (and why not) without opening a websocket. */
  async function tokenStatus(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const origin = checkOrigin(req, config);
    if (!origin.ok) return sendText(req, res, 403, `${origin.why}\n`);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > 4096) return sendText(req, res, 413, 'request too large\n');
      chunks.push(c as Buffer);
    }
    let body: { node?: unknown; token?: unknown };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
    } catch {
      return sendText(req, res, 400, 'body must be JSON {"node","token"}\n');
    }
    const json = (o: unknown, status = 200) => sendText(req, res, status, JSON.stringify(o), 'application/json');
    // The same budget as upgrades: this endpoint is a token oracle too.
    const source = sourceAddress(req, config);
    if (!failedTokens.allowed(source)) {
      metrics.rejections.inc({ reason: 'token-rate-limit' });
      return json({ valid: null, reason: 'rate-limited' }, 429);
    }
    if (
      typeof body.node !== 'string' ||
      !NODE_RE.test(body.node) ||
      typeof body.token !== 'string' ||
      !TOKEN_RE.test(body.token)
    ) {
      failedTokens.failed(source);
      return json({ valid: false, reason: 'unknown' });
    }
    try {
      const r = await verifier.verify(body.node, body.token);
      if (!r.ok) {
        failedTokens.failed(source);
        return json({ valid: false, reason: r.reason });
      }
      return json({ valid: true, readOnly: r.target.readOnly, expiresAt: r.target.expiresAt.toISOString() });
    } catch (err) {
      log.warn({ node: body.node, err: (err as Error).message }, 'token status: agent unavailable');
      return json({ valid: null, reason: 'agent-unavailable' }, 503);
    }
  }

  function reject(socket: Duplex, rej: Rejection, ctx: { node?: string; source: string; token?: string }): void {
    metrics.rejections.inc({ reason: rej.reason });
    const tokenId = ctx.token !== undefined ? { tokenId: tokenFingerprint(ctx.token) } : {};
    log.warn(
      {
        event: 'session-rejected',
        reason: rej.reason,
        node: ctx.node,
        source: ctx.source,
        ...tokenId,
        detail: rej.message,
      },
      'websocket upgrade refused',
    );
    const statusText: Record<number, string> = {
      400: 'Bad Request',
      403: 'Forbidden',
      404: 'Not Found',
      429: 'Too Many Requests',
      503: 'Service Unavailable',
    };
    const body = `${rej.message}\n`;
    if (socket.writable) {
      socket.end(
        `HTTP/1.1 ${rej.status} ${statusText[rej.status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    }
    // A client that never closes is cut off after a second; one that closes frees its socket at once (a flood of
    // refused upgrades must not keep a second's worth of sockets alive).
    const cutOff = setTimeout(() => socket.destroy(), 1000).unref();
    socket.once('close', () => clearTimeout(cutOff));
  }

  async function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => {});
    const source = sourceAddress(req, config);
    const rawUrl = req.url ?? '/';
    const url = new URL(rawUrl.startsWith('//') ? '/' : rawUrl, 'http://proxy.invalid');
    if (url.pathname !== '/websockify')
      return reject(socket, { status: 404, reason: 'not-found', message: 'websocket path is /websockify' }, { source });
    if (requireTls && requestScheme(req, config) !== 'https')
      return reject(socket, { status: 403, reason: 'tls-required', message: 'TLS required: use wss' }, { source });
    const origin = checkOrigin(req, config);
    if (!origin.ok) return reject(socket, { status: 403, reason: 'origin', message: origin.why }, { source });
    const node = url.searchParams.get('node') ?? '';
    const token = url.searchParams.get('token') ?? '';
    if (!NODE_RE.test(node))
      return reject(
        socket,
        { status: 400, reason: 'bad-request', message: 'query parameter node is missing or malformed' },
        { source },
      );
    // A source that failed too many token checks is refused before the agent is asked (the viewer learns why from
    // /api/token-status, which answers "rate-limited" for it).
    if (!failedTokens.allowed(source))
      return reject(
        socket,
        {
          status: 429,
          reason: 'token-rate-limit',
          message: 'too many failed token checks from this address, try again later',
        },
        { node, source },
      );
    if (!TOKEN_RE.test(token)) {
      failedTokens.failed(source);
      return reject(
        socket,
        { status: 400, reason: 'bad-request', message: 'query parameter token is missing or malformed' },
        { node, source },
      );
    }

    let result;
    try {
      result = await verifier.verify(node, token);
    } catch (err) {
      const message =
        err instanceof AgentUnavailableError ? err.message : `token verification failed: ${(err as Error).message}`;
      return reject(
        socket,
        { status: 503, reason: 'agent-unavailable', message: 'token service unavailable, try again' },
        { node, source: `${source} (${message})`, token },
      );
    }
    if (!result.ok) {
      failedTokens.failed(source);
      return reject(
        socket,
        { status: 403, reason: `token-${result.reason}`, message: `token ${result.reason}` },
        { node, source, token },
      );
    }
    if (result.target.expiresAt.getTime() <= Date.now())
      return reject(
        socket,
        { status: 403, reason: 'token-expired', message: 'token expired' },
        { node, source, token },
      );
    const slot = limits.acquire(node, source);
    if (!slot.ok)
      return reject(
        socket,
        { status: 429, reason: slot.reason, message: `too many sessions (${slot.reason.slice(6)} limit)` },
        { node, source, token },
      );
    if (!socket.readable || closing) {
      slot.release();
      return void socket.destroy();
    }
    const target = result.target;
    // ws answers a broken handshake itself (400) without calling back: the slot must not leak then.
    let upgraded = false;
    socket.once('close', () => {
      if (!upgraded) slot.release();
    });
    wss.handleUpgrade(req, socket, head, (ws) => {
      upgraded = true;
      const session = new ConsoleSession(ws, socket, node, token, source, target, {
        config,
        metrics,
        readBuffers,
        log,
        verifier,
        room: roomOf,
        ...(recorders ? { recorders } : {}),
        bmcSessions,
        onEnd: (s) => {
          sessions.delete(s);
          slot.release();
        },
      });
      sessions.add(session);
      session.run();
    });
  }

  const server: Server = config.tls
    ? createHttpsServer(
        {
          cert: readFileSync(config.tls.certFile),
          key: readFileSync(config.tls.keyFile),
          minVersion: config.tls.minVersion === '1.3' ? 'TLSv1.3' : 'TLSv1.2',
          ...(config.tls.ciphers ? { ciphers: config.tls.ciphers } : {}),
        },
        onRequest,
      )
    : createHttpServer(onRequest);
  let closing = false;
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    handleUpgrade(req, socket, head).catch((err: unknown) => {
      log.error({ err: (err as Error).message }, 'upgrade failed');
      socket.destroy();
    });
  });
  server.on('clientError', (_err, socket: Duplex) => socket.destroy());
  server.on('tlsClientError', (_err, socket: Socket) => {
    metrics.rejections.inc({ reason: 'tls-handshake' });
    socket.destroy();
  });

  await listen(server, config.port, config.host);
  const port = (server.address() as AddressInfo).port;
  const scheme = config.tls ? 'https' : 'http';
  const hostForUrl = config.host.includes(':')
    ? `[${config.host}]`
    : config.host === '0.0.0.0'
      ? '127.0.0.1'
      : config.host;

  let metricsServer: Server | undefined;
  let metricsUrl: string | undefined;
  if (config.metrics.enabled && config.metrics.port !== undefined) {
    metricsServer = createHttpServer((req, res) => {
      if ((req.url ?? '').split('?')[0] === '/metrics') void serveMetrics(req, res);
      else sendText(req, res, 404, 'not found\n');
    });
    await listen(metricsServer, config.metrics.port, config.metrics.host);
    metricsUrl = `http://${config.metrics.host}:${(metricsServer.address() as AddressInfo).port}/metrics`;
  } else if (config.metrics.enabled) {
    metricsUrl = `${scheme}://${hostForUrl}:${port}/metrics`;
  }

  log.info(
    {
      url: `${scheme}://${hostForUrl}:${port}`,
      tls: config.tls ? config.tls.minVersion : false,
      requireTls,
      agentUrl: config.agentUrl.replace(/\/\/[^@/]*@/, '//'),
      tokenSource: config.tokenSource,
      ...(config.tokenSource === 'ironic' ? { ironicUrl: config.ironic?.url } : {}),
    },
    'console proxy listening',
  );

  return {
    url: `${scheme}://${hostForUrl}:${port}`,
    port,
    metricsUrl,
    config,
    metrics,
    sessionCount: () => sessions.size,
    async close() {
      closing = true;
      for (const s of [...sessions]) s.close('shuttingDown');
      await Promise.all([
        closeServer(server),
        metricsServer ? closeServer(metricsServer) : undefined,
        // Every BMC login is logged out now: the grace is for returning viewers, and none return to a stopped proxy.
        bmcSessions.closeAll(),
      ]);
      readBuffers.close();
      ownVerifier?.close();
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
