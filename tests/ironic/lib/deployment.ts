/**
 * What the Ironic deployment tests share: the agent stack, an emulated iDRAC 9, a real Ironic 29 on the agent's unix
 * socket, its REST API and a headless Chromium, started in that order and closed in the reverse one.
 */
import { dirname } from 'node:path';
import type { Browser } from 'playwright-core';
import type { RunningEmulator } from '@bmc-console/bmc-emulator/emulator';
import { launchBrowser } from '../../src/browser.js';
import { startStack, type Stack } from '../../src/stack.js';
import { freePort } from '@bmc-console/common/free-port';
import type { AgentConfigInput } from '@bmc-console/host-agent/config';
import { IronicApi } from './ironic-api.js';
import { startIronic, type RunningIronic } from './ironic-server.js';

/** The emulated iDRAC 9's system, as an operator enrolls it (redfish_system_id). */
export const IDRAC9_SYSTEM = '/redfish/v1/Systems/System.Embedded.1';

/** The directory of the stack agent's socket, which the conductor container mounts. */
const agentSocketDir = (stack: Stack): string => dirname(stack.agentUrl.replace(/^unix:/, ''));

export interface DeploymentOptions {
  /** Names the deployment in its timing lines. */
  label: string;
  image: string;
  /** The emulator's node name. */
  node: string;
  /** [bmc_console]vnc_password. */
  vncPassword: boolean;
  /** More agent options (e.g. console_mode). */
  agent?: AgentConfigInput;
  /**
   * The viewers' front end when it is not Ironic's own noVNC proxy (deployment 2: our proxy), started after the agent
   * and before Ironic, whose API URL it is given: it needs Ironic's URL and Ironic's [vnc]public_url is its URL.
   */
  front?: (stack: Stack, ironicApi: string) => Promise<{ url: string; close(): Promise<void> }>;
}

export interface Deployment {
  stack: Stack;
  emu: RunningEmulator;
  ironic: RunningIronic;
  api: IronicApi;
  browser: Browser;
  close(): Promise<void>;
}

/** Starts it all; when a part fails to start, what had started is closed before the error is thrown. */
export async function startDeployment(o: DeploymentOptions): Promise<Deployment> {
  const t0 = Date.now();
  const closers: (() => Promise<unknown>)[] = [];
  const closeAll = async () => {
    for (const c of closers.splice(0).reverse()) await c();
  };
  try {
    const stack = await startStack(o.agent ? { agent: o.agent } : {});
    closers.push(() => stack.close());
    const emu = await stack.emulator('idrac9', { node: o.node });
    const apiPort = await freePort();
    const front = o.front ? await o.front(stack, `http://127.0.0.1:${apiPort}`) : undefined;
    if (front) closers.push(() => front.close());
    const ironic = await startIronic({
      image: o.image,
      agent: { socketDir: agentSocketDir(stack) },
      vncPassword: o.vncPassword,
      apiPort,
      ...(front ? { publicUrl: () => `${front.url}/` } : {}),
    });
    closers.push(() => ironic.close());
    const browser = await launchBrowser();
    closers.push(() => browser.close());
    console.info(
      `${o.label}: emulator, agent, ${front ? 'proxy, ' : ''}Ironic and Chromium up in ${Math.round((Date.now() - t0) / 1000)} s`,
    );
    const close = async () => {
      await closeAll();
      console.info(`${o.label}: ${Math.round((Date.now() - t0) / 1000)} s in all`);
    };
    return { stack, emu, ironic, api: new IronicApi(ironic.api, ironic.log), browser, close };
  } catch (err) {
    await closeAll().catch(() => undefined);
    throw err;
  }
}
