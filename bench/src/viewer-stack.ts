/**
 * The whole path a person's console takes, for the keystroke and frame benchmarks: consoles started by the host
 * agent's podman provider against emulators in this process, our proxy (bundled, its own process, as shipped) with a
 * stand-in for the agent's token endpoint that knows every console, and our viewer page in headless Chromium.
 */
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { chromium, type Browser, type Page } from 'playwright-core';
import { hostAddress } from '@bmc-console/bmc-emulator/host-address';
import type { RunningEmulator } from '@bmc-console/bmc-emulator/emulator';
import { listenOnTempSocket } from './unix-socket-server.js';
import { type BenchProvider, podmanProvider } from './podman-provider.js';
import type { Child } from './child-process.js';
import { startProxyProcess } from './proxy-process.js';
import { installProbe } from './viewer-probe.js';

const IMAGE = 'localhost/bmc-console:latest';
export const PROFILE = 'idrac9';

interface Endpoint {
  host: string;
  port: number;
}

export interface LiveConsole {
  node: string;
  endpoint: Endpoint;
  vncPassword: string;
  emu: RunningEmulator;
  /** Our viewer page for this console, through the proxy. */
  viewerUrl: string;
}

type Provider = BenchProvider;

export function podman(args: string[], timeoutMs = 60_000): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile('podman', args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout) => {
      resolve({ code: err ? 1 : 0, stdout: String(stdout) });
    });
  });
}

/** Why the stack cannot run here (no podman, no image, no host agent), or undefined when it can. */
export async function stackUnavailable(): Promise<string | undefined> {
  if ((await podman(['--version'])).code !== 0) return 'podman is not available';
  if ((await podman(['image', 'exists', IMAGE])).code !== 0)
    return `the console image ${IMAGE} is not built (npm run image:build)`;
  return undefined;
}

/** The token endpoint of the agent, for every console of the stack (the proxy asks it at each connect). */
async function startDirectory(
  consoles: Map<string, { token: string; endpoint: Endpoint; vncPassword: string }>,
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      let asked: { node?: unknown; token?: unknown } = {};
      try {
        asked = JSON.parse(body) as typeof asked;
      } catch {
        // answered as unknown below
      }
      const c = typeof asked.node === 'string' ? consoles.get(asked.node) : undefined;
      if (req.url !== '/v1/tokens/verify' || !c || c.token !== asked.token) {
        res.writeHead(403, { 'content-type': 'application/json' }).end('{"reason":"unknown"}');
        return;
      }
      const expiresAt = new Date(Date.now() + 3600_000).toISOString();
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(
          JSON.stringify({ node: asked.node, ...c.endpoint, vncPassword: c.vncPassword, readOnly: false, expiresAt }),
        );
    });
  });
  const listening = await listenOnTempSocket(server, 'bench-directory-');
  return { ...listening };
}

export class ViewerStack {
  private readonly live = new Map<string, LiveConsole>();
  private animated: string | undefined;

  private constructor(
    private readonly provider: Provider,
    private readonly proxy: Child,
    private readonly proxyUrl: string,
    private readonly directory: { close(): Promise<void> },
    private readonly tokens: Map<string, { token: string; endpoint: Endpoint; vncPassword: string }>,
    readonly browser: Browser,
  ) {}

  /** `agentHost` labels the containers (a name of the benchmark's own keeps its cleanup to them). */
  static async start(agentHost: string): Promise<ViewerStack> {
    const provider = await podmanProvider(agentHost);
    const tokens = new Map<string, { token: string; endpoint: Endpoint; vncPassword: string }>();
    const directory = await startDirectory(tokens);
    let proxy: Child | undefined;
    try {
      proxy = await startProxyProcess({ host: '127.0.0.1', port: 0, agentUrl: directory.url });
      const browser = await chromium.launch({
        executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', '--disable-sync'],
      });
      return new ViewerStack(provider, proxy, String(proxy.info.url), directory, tokens, browser);
    } catch (err) {
      await proxy?.stop();
      await directory.close();
      throw err;
    }
  }

  /** pid of the proxy process (its CPU is read from /proc). */
  get proxyPid(): number {
    return this.proxy.pid;
  }

  /** Starts an emulator and a console for `node`; the emulator's KVM page animates when `animateFps` is given. */
  async addConsole(node: string, animateFps?: number): Promise<LiveConsole> {
    const { startEmulator } = await import('@bmc-console/bmc-emulator/emulator');
    const emu = await startEmulator({ vendor: PROFILE, host: hostAddress(), port: 0, node });
    // Read when the emulator serves its KVM page, i.e. when a viewer connects: it holds until removeConsole. The
    // variable is process-wide, so one animated console at a time.
    if (animateFps) {
      process.env.BMC_EMULATOR_KVM_ANIMATE = String(animateFps);
      this.animated = node;
    }
    const vncPassword = randomBytes(4).toString('hex');
    const appInfo = {
      address: emu.url,
      username: emu.username,
      password: emu.password,
      verify_ca: false,
      node_uuid: node,
    };
    try {
      const endpoint = await this.provider.start({
        node,
        app: 'redfish-graphical',
        appInfo,
        readOnly: false,
        vncPassword,
      });
      const token = randomBytes(18).toString('base64url');
      this.tokens.set(node, { token, endpoint, vncPassword });
      const c: LiveConsole = {
        node,
        endpoint,
        vncPassword,
        emu,
        viewerUrl: `${this.proxyUrl}/?node=${encodeURIComponent(node)}&token=${token}`,
      };
      this.live.set(node, c);
      return c;
    } catch (err) {
      if (this.animated === node) delete process.env.BMC_EMULATOR_KVM_ANIMATE;
      await emu.close();
      throw err;
    }
  }

  async removeConsole(c: LiveConsole): Promise<void> {
    if (this.animated === c.node) {
      delete process.env.BMC_EMULATOR_KVM_ANIMATE;
      this.animated = undefined;
    }
    this.live.delete(c.node);
    this.tokens.delete(c.node);
    await this.provider.stop(c.node).catch(() => podman(['rm', '--force', '--time', '2', `bmc-console-${c.node}`]));
    await c.emu.close();
  }

  /** Opens our viewer page for `c` with the probe installed and waits until the viewer says it is connected. */
  async openViewer(c: LiveConsole, timeoutMs = 90_000): Promise<Page> {
    const page = await this.browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await installProbe(page);
    await page.goto(c.viewerUrl);
    await page.waitForFunction(
      () => (window as unknown as { bmcViewer?: { state: string } }).bmcViewer?.state === 'connected',
      undefined,
      { timeout: timeoutMs },
    );
    return page;
  }

  async close(): Promise<void> {
    await this.browser.close().catch(() => undefined);
    const all = [...this.live.values()];
    for (let i = 0; i < all.length; i += 8) await Promise.all(all.slice(i, i + 8).map((c) => this.removeConsole(c)));
    await this.provider.stopAll().catch(() => undefined);
    await this.proxy.stop();
    await this.directory.close();
  }
}

/** The container's id (its cgroup directory is named after it). */
export async function containerId(node: string): Promise<string | undefined> {
  const r = await podman(['inspect', '--format', '{{.Id}}', `bmc-console-${node}`]);
  return r.code === 0 ? r.stdout.trim() : undefined;
}
