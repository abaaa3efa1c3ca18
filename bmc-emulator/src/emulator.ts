import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { createLogger, type Logger } from '@bmc-console/common/log';
import type { Ctx, UpgradeDecision, UpgradeReq, WebUi } from './context.js';
import { defaultFaults, applyRequestFaults, mergeFaults, type Faults } from './faults.js';
import { loadFixture } from './fixture.js';
import { createHostile, type HostileOptions, type HostileSnapshot } from './hostile.js';
import { normalisePath, parseCookies, readRequest, sendJson, type Req, type Res } from './http.js';
import { runKvmSocket } from './kvm.js';
import { getProfile, isFeature, type Feature, type Profile, type ProfileName } from './profiles.js';
import { handleRedfish } from './redfish.js';
import { EmulatorState, hexToken } from './state.js';
import { caSignedTls, fileTls, selfSignedTls, type TlsMaterial } from './tls.js';
import { createWebUi } from './vendors/index.js';

export interface EmulatorOptions {
  /** Profile name (default "unknown"; with `fixture`, the web UI to serve next to the captured Redfish data). */
  vendor?: ProfileName;
  /** Directory of captured Redfish JSON served instead of the profile's Redfish data. */
  fixture?: string;
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** XCC viewer (remote presence) port; 0 (default) picks a free port. */
  rpPort?: number;
  certFile?: string;
  keyFile?: string;
  /** Generate a CA in this directory and a server certificate signed by it. */
  caDir?: string;
  username?: string;
  /** Default: a random password (printed by the CLI, returned by the API). */
  password?: string;
  node?: string;
  faults?: Partial<Faults>;
  disable?: Feature[];
  enable?: Feature[];
  /** Turn off the profile's primary console launch path so the fallback runs. */
  noPrimary?: boolean;
  /** Hostile mode: every HTML page also tries to reach these addresses and ports from the console (src/hostile.ts). */
  hostile?: HostileOptions;
  logger?: Logger;
}

export interface EmulatorStateSnapshot {
  profile: string;
  family: string;
  liveKvmSessions: number;
  sharedKvmSessions: number;
  maxKvmSessions: number;
  redfishSessions: number;
  webSessions: number;
  typed: string;
  keys: string[];
  clicks: { x: number; y: number }[];
  logouts: { kind: string; how: string; at: number }[];
  logins: { ok: number; failed: number };
  /** Launch path of every console that got video, in order (profile.launch names the primary and fallback). */
  launches: string[];
  expiredSessions: number;
  down: boolean;
  faults: Faults;
  features: Feature[];
  /** Hostile mode only: what the pages tried and how each attempt ended. */
  hostile?: HostileSnapshot;
}

export interface RunningEmulator {
  url: string;
  port: number;
  username: string;
  password: string;
  profile: ProfileName;
  family: string;
  /** CA certificate file when started with caDir. */
  caFile?: string;
  /** XCC only: the viewer's second TLS origin. */
  viewerUrl?: string;
  /** Plain-HTTP control listener (state/control work here even while the BMC is "down"). */
  controlUrl: string;
  state(): EmulatorStateSnapshot;
  setDown(down: boolean): void;
  /** Same body as POST /__emulator/control. */
  control(body: unknown): void;
  close(): Promise<void>;
}

function listen(server: HttpServer | HttpsServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new Error(`listen: cannot listen on ${host}:${port}: ${e.code ?? e.message}`)),
    );
    server.listen(port, host, () => {
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : port);
    });
  });
}

export async function startEmulator(opts: EmulatorOptions = {}): Promise<RunningEmulator> {
  const profile: Profile = getProfile(opts.vendor ?? 'unknown');
  const fixture = opts.fixture ? loadFixture(opts.fixture) : undefined;
  const host = opts.host ?? '127.0.0.1';
  const log = opts.logger ?? createLogger('bmc-emulator', { level: process.env.LOG_LEVEL ?? 'warn' });
  const faults: Faults = { ...defaultFaults(), ...opts.faults };
  const features = new Set<Feature>(profile.features);
  for (const f of opts.enable ?? []) features.add(f);
  for (const f of opts.disable ?? []) features.delete(f);
  if (opts.noPrimary && profile.primaryFeature) features.delete(profile.primaryFeature);
  const username = opts.username ?? profile.defaultUser;
  const password = opts.password ?? process.env.BMC_EMULATOR_PASSWORD ?? `emu-${hexToken(6)}`;
  const state = new EmulatorState(() =>
    faults.sessionTimeoutS === undefined ? undefined : faults.sessionTimeoutS * 1000,
  );

  let tls: TlsMaterial;
  if (opts.certFile || opts.keyFile) {
    if (!opts.certFile || !opts.keyFile) throw new Error('cert/key: give both --cert and --key');
    tls = fileTls(opts.certFile, opts.keyFile);
  } else if (opts.caDir) tls = await caSignedTls(opts.caDir, 'bmc-emulator', [host]);
  else tls = await selfSignedTls(`${profile.name}.bmc-emulator`, [host]);

  let mainPort = 0;
  let rpPortNo: number | undefined;
  const ctx: Ctx = {
    profile,
    state,
    faults,
    features,
    username,
    password,
    node: opts.node ?? 'node-1',
    log,
    hostPort: () => `${host.includes(':') ? `[${host}]` : host}:${mainPort}`,
    rpPort: () => rpPortNo,
    has: (f) => features.has(f),
    checkLogin: (u, p) => {
      const ok = !faults.wrongPassword && u === username && p === password;
      if (ok) state.logins.ok++;
      else state.logins.failed++;
      return ok;
    },
  };
  const ui: WebUi = createWebUi(ctx);
  const hostile = opts.hostile ? createHostile(opts.hostile, ctx.node) : undefined;

  const snapshot = (): EmulatorStateSnapshot => ({
    profile: profile.name,
    family: profile.family,
    liveKvmSessions: state.liveKvm(),
    sharedKvmSessions: state.kvm.size - state.liveKvm(),
    maxKvmSessions: profile.maxKvmSessions,
    redfishSessions: state.count('redfish'),
    webSessions: state.count('web'),
    typed: state.typed,
    keys: [...state.keys],
    clicks: [...state.clicks],
    logouts: [...state.logouts],
    logins: { ...state.logins },
    launches: [...state.launches],
    expiredSessions: state.expired,
    down: faults.down,
    faults: { ...faults, failPaths: [...faults.failPaths] },
    features: [...features],
    ...(hostile ? { hostile: hostile.snapshot() } : {}),
  });

  const sockets = new Set<Duplex>();
  const control = (body: unknown): void => {
    mergeFaults(faults, body);
    const b = body as Record<string, unknown>;
    for (const [key, on] of [
      ['enable', true],
      ['disable', false],
    ] as const) {
      const list = b[key];
      if (list === undefined) continue;
      if (!Array.isArray(list) || !list.every((f) => typeof f === 'string' && isFeature(f)))
        throw new Error(`control: ${key} must be an array of feature names`);
      for (const f of list as Feature[])
        if (on) features.add(f);
        else features.delete(f);
    }
    if (b.reset === true) {
      state.typed = '';
      state.keys = [];
      state.clicks = [];
      state.logouts = [];
    }
    if (faults.down) for (const s of sockets) s.destroy();
  };

  /** Private endpoints for tests: not part of any real BMC. */
  const emulatorRoute = (req: Req, res: Res): boolean => {
    if (req.path === '/__emulator/state' && req.method === 'GET') {
      sendJson(res, 200, snapshot());
      return true;
    }
    if (req.path === '/__emulator/control' && req.method === 'POST') {
      try {
        control(JSON.parse(req.body.toString('utf8') || '{}'));
        sendJson(res, 200, snapshot());
      } catch (e) {
        sendJson(res, 400, { error: (e as Error).message });
      }
      return true;
    }
    return false;
  };

  const base = () => `https://${ctx.hostPort()}`;
  const onRequest = async (raw: IncomingMessage, res: Res): Promise<void> => {
    try {
      const req = await readRequest(raw, base());
      // Path only: query strings carry one-time credentials (VCSID, sessionkey).
      res.once('finish', () => log.debug({ method: req.method, path: req.path, status: res.statusCode }, 'request'));
      if (emulatorRoute(req, res)) return;
      if (await applyRequestFaults(faults, req, res)) return;
      if (hostile?.route(req, res)) return;
      hostile?.inject(res);
      if (await ui.handle(req, res)) return;
      if (await handleRedfish(ctx, ui, req, res, fixture)) return;
      sendJson(res, 404, { error: `no such page: ${req.path}` });
    } catch (e) {
      log.error({ err: (e as Error).message }, 'request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal emulator error' });
      else res.end();
    }
  };

  const wsClients = new Set<WebSocket>();
  const onUpgrade =
    (decide: (u: UpgradeReq) => UpgradeDecision | undefined) =>
    (raw: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (faults.down) return void socket.destroy();
      const url = new URL(raw.url ?? '/', base());
      const protocols = String(raw.headers['sec-websocket-protocol'] ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const u: UpgradeReq = {
        raw,
        url,
        path: normalisePath(url.pathname),
        cookies: parseCookies(raw.headers.cookie),
        protocols,
      };
      const d = decide(u) ?? { accept: false as const, status: 404, message: 'Not Found' };
      if (!d.accept) {
        socket.end(
          `HTTP/1.1 ${d.status} ${d.message}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(d.message)}\r\nConnection: close\r\n\r\n${d.message}`,
        );
        return;
      }
      // One server per upgrade so the vendor's chosen subprotocol is echoed.
      const wss = new WebSocketServer({ noServer: true, handleProtocols: () => d.protocol ?? false });
      wss.handleUpgrade(raw, socket, head, (ws) => {
        wsClients.add(ws);
        ws.on('close', () => wsClients.delete(ws));
        runKvmSocket(ctx, ws, d);
      });
    };

  const trackDown = (server: HttpsServer) => {
    server.on('connection', (s: Socket) => {
      if (faults.down) {
        // "BMC down": accept, then reset at once.
        s.resetAndDestroy();
        return;
      }
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
  };

  const main = createHttpsServer({ cert: tls.cert, key: tls.key }, (rq, rs) => void onRequest(rq, rs));
  trackDown(main);
  main.on(
    'upgrade',
    onUpgrade((u) => ui.kvmUpgrade(u)),
  );

  let rpServer: HttpsServer | undefined;
  if (profile.family === 'xcc') {
    // The XCC viewer's socket lives on its own TLS port with its own certificate (default 3900 on real XCCs).
    const rpTls = opts.caDir
      ? await caSignedTls(opts.caDir, 'bmc-emulator-rp', [host])
      : await selfSignedTls(`${profile.name}-rp.bmc-emulator`, [host]);
    rpServer = createHttpsServer({ cert: rpTls.cert, key: rpTls.key }, (_rq, rs) => {
      // Visiting the viewer origin once is how a user accepts its certificate.
      if (faults.down) return void rs.destroy();
      sendJson(rs, 200, { service: 'remote presence', port: rpPortNo });
    });
    trackDown(rpServer);
    rpServer.on(
      'upgrade',
      onUpgrade((u) => ui.kvmUpgrade(u)),
    );
    rpPortNo = await listen(rpServer, opts.rpPort ?? 0, host);
  }
  mainPort = await listen(main, opts.port ?? 0, host);

  const ctl = createHttpServer((raw, res) => {
    void (async () => {
      const req = await readRequest(raw, `http://${host}`);
      if (!emulatorRoute(req, res))
        sendJson(res, 404, { error: 'control listener serves only /__emulator/state and /__emulator/control' });
    })();
  });
  const ctlPort = await listen(ctl, 0, '127.0.0.1');

  return {
    url: `https://${ctx.hostPort()}`,
    port: mainPort,
    username,
    password,
    profile: profile.name,
    family: profile.family,
    ...(tls.caFile ? { caFile: tls.caFile } : {}),
    ...(rpPortNo !== undefined ? { viewerUrl: `https://${host}:${rpPortNo}` } : {}),
    controlUrl: `http://127.0.0.1:${ctlPort}`,
    state: snapshot,
    setDown: (down) => control({ down }),
    control,
    close: async () => {
      for (const c of wsClients) c.terminate();
      for (const s of sockets) s.destroy();
      const closeOne = (s: HttpServer | HttpsServer) => new Promise<void>((r) => s.close(() => r()));
      main.closeAllConnections();
      ctl.closeAllConnections();
      rpServer?.closeAllConnections();
      await Promise.all([closeOne(main), closeOne(ctl), ...(rpServer ? [closeOne(rpServer)] : [])]);
    },
  };
}
