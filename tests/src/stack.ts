/**
 * The whole system in one process, for the demo, the end-to-end tests, benchmarks and the reliability suite:
 * a BMC emulator on loopback, the host agent (real podman provider unless told otherwise) with its HTTP API,
 * and the proxy that serves the viewer. Consoles run in real containers without the host's loopback, so emulators
 * listen on one of this machine's interface addresses (hostAddress) and consoles reach them there, like a real BMC.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '@bmc-console/bmc-emulator/emulator';
import { hostAddress } from '@bmc-console/bmc-emulator/host-address';
import type { ProfileName } from '@bmc-console/bmc-emulator/profiles';
import type { ConsoleMode } from '@bmc-console/common/contracts/direct-target';
import { createLogger, type Logger } from '@bmc-console/common/log';
import { startApi } from '@bmc-console/host-agent/api';
import { loadConfig, type AgentConfigInput } from '@bmc-console/host-agent/config';
import { ConsoleAgent, type StartResult } from '@bmc-console/host-agent/console-agent';
import { startProxy, type RunningProxy } from '@bmc-console/proxy/server';

export interface StackOptions {
  /** Extra agent options (provider, image, timeouts...). */
  agent?: AgentConfigInput;
  /** The proxy's port (0, the default, picks a free one). */
  proxyPort?: number;
  /** Extra proxy options (its config file's keys); recordings go to the stack's state dir unless set here. */
  proxy?: Record<string, unknown>;
  logger?: Logger;
}

export interface Stack {
  agent: ConsoleAgent;
  agentUrl: string;
  proxy: RunningProxy;
  /** Where the proxy writes session recordings. */
  recordingsDir: string;
  emulators: RunningEmulator[];
  /** Starts an emulator of this profile on this machine's interface address (hostAddress), where consoles reach it. */
  emulator(vendor: ProfileName, opts?: Omit<EmulatorOptions, 'vendor'>): Promise<RunningEmulator>;
  /** Starts a console for `node` against `emu` and returns the agent's answer (host, port, viewer URL). */
  startConsole(
    node: string,
    emu: RunningEmulator,
    opts?: { readOnly?: boolean; appInfo?: Record<string, unknown>; consoleMode?: ConsoleMode },
  ): Promise<StartResult>;
  close(): Promise<void>;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const log = opts.logger ?? createLogger('bmc-console-stack', { level: process.env.LOG_LEVEL ?? 'warn' });
  const stateDir = mkdtempSync(join(tmpdir(), 'bmc-console-stack-'));
  const emulators: RunningEmulator[] = [];

  // The proxy needs the agent's URL and the agent needs the proxy's public URL: start the API (on its own socket)
  // first, then the proxy, then give the agent its public_url.
  let proxy: RunningProxy | undefined;
  const config = loadConfig({
    env: {},
    // A loaded 2-core machine can take a while to bring Xvfb, x11vnc and Chromium up: allow a minute.
    // agent_host labels the containers: a name of its own keeps stopAll() to this stack's consoles, so parallel test
    // files (and other agents on the machine) keep theirs.
    // The API on a socket of the stack's own (the proxy needs no key); CA bundles only from the temp dir, where the
    // tests' emulators keep their CA files.
    overrides: {
      state_dir: stateDir,
      public_url: 'http://127.0.0.1:1/',
      api_listen: `unix:${join(stateDir, 'api', 'agent.sock')}`,
      ca_bundle_dir: tmpdir(),
      wait_for_ready_timeout: 60,
      agent_host: `stack-${process.pid}`,
      ...opts.agent,
    },
  });
  // As `serve`: direct consoles get RFB relays (for Ironic's own noVNC proxy).
  const agent = await ConsoleAgent.create(config, log.child({ component: 'agent' }), { serving: true });
  const { app: api, address: agentUrl } = await startApi(agent);
  try {
    proxy = await startProxy(
      {
        host: '127.0.0.1',
        port: opts.proxyPort ?? 0,
        agentUrl,
        recordings: { dir: join(stateDir, 'recordings') },
        ...opts.proxy,
      },
      { logger: log.child({ component: 'proxy' }) },
    );
    config.public_url = `${proxy.url}/`;
  } catch (err) {
    await api.close();
    // The caller gets no Stack to close, so the state dir goes here.
    rmSync(stateDir, { recursive: true, force: true });
    throw err;
  }
  const runningProxy = proxy;

  return {
    agent,
    agentUrl,
    proxy: runningProxy,
    recordingsDir: join(stateDir, 'recordings'),
    emulators,
    async emulator(vendor, emuOpts = {}) {
      const emu = await startEmulator({
        host: hostAddress(),
        port: 0,
        node: 'node-1',
        ...emuOpts,
        vendor,
        logger: log.child({ component: 'emulator', vendor }),
      });
      emulators.push(emu);
      return emu;
    },
    async startConsole(node, emu, o = {}) {
      return agent.start({
        node,
        app: 'redfish-graphical',
        readOnly: o.readOnly ?? false,
        ...(o.consoleMode ? { consoleMode: o.consoleMode } : {}),
        appInfo: {
          address: emu.url,
          username: emu.username,
          password: emu.password,
          verify_ca: false,
          node_uuid: node,
          ...o.appInfo,
        },
      });
    },
    async close() {
      await agent.stopAll().catch((err: unknown) => log.warn({ err }, 'stopAll failed'));
      // A failed close still removes the state dir: the test reports the failure, /tmp keeps nothing.
      try {
        await runningProxy.close();
        await api.close();
        await Promise.all(emulators.map((e) => e.close()));
      } finally {
        rmSync(stateDir, { recursive: true, force: true });
      }
    },
  };
}
