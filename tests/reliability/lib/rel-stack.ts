/**
 * The end-to-end stack (tests/src/stack.ts) as the suite uses it: its own agent_host label (so stop-all and reconcile
 * never touch containers of other test runs), a distinctive BMC password, and debug logs in a file for the secrets scan.
 */
import { rfbEndpoint } from '@bmc-console/common/contracts/agent-api';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { kvmMarkerColor } from '@bmc-console/bmc-emulator/marker';
import type { ProfileName } from '@bmc-console/bmc-emulator/profiles';
import { createLogger } from '@bmc-console/common/log';
import { RfbClient } from '@bmc-console/common/rfb/client';
import type { AgentConfigInput } from '@bmc-console/host-agent/config';
import { PNG } from 'pngjs';
import { findColourBlock, ocr } from '../../src/screen.js';
import { startStack, type Stack } from '../../src/stack.js';
import './podman.js';
import { noteSecret, REL_OUT } from './record.js';
import { tokenOf } from './ws-viewer.js';

/** A BMC password nobody else uses, so any occurrence in a log or argv is a leak (one per run: scripts/reliability.sh). */
export const REL_PASSWORD = process.env.REL_SECRET ?? `RelPw-${randomBytes(6).toString('hex')}-Zq`;

export interface RelStack extends Stack {
  logFile: string;
  agentHost: string;
}

export async function startRelStack(name: string, agent: AgentConfigInput = {}): Promise<RelStack> {
  const agentHost = `rel-${name}-${process.pid}`;
  const dir = join(REL_OUT, 'logs');
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, `${name}.log`);
  const logger = createLogger('bmc-console-reliability', {
    level: 'debug',
    transport: { target: 'pino/file', options: { destination: logFile, mkdir: true } },
  });
  const stack = await startStack({ logger, agent: { agent_host: agentHost, wait_for_ready_timeout: 120, ...agent } });
  noteSecret(REL_PASSWORD);
  // Every token handed out goes on the list the final scan looks for.
  const consoles = stack.agent;
  const url = consoles.url.bind(consoles);
  consoles.url = async (node) => {
    const r = await url(node);
    noteSecret(tokenOf(r.url).token);
    return r;
  };
  const startConsole = stack.startConsole.bind(stack);
  stack.startConsole = async (...args) => {
    const r = await startConsole(...args);
    noteSecret(tokenOf(r.url).token);
    return r;
  };
  const close = stack.close.bind(stack);
  stack.close = async () => {
    stopWatching();
    await close();
  };
  return Object.assign(stack, { logFile, agentHost });
}

/** Where the agent says the console of `node` listens, with its VNC password (from the agent's state). */
export async function consoleEndpoint(
  stack: Stack,
  node: string,
): Promise<{ host: string; port: number; password?: string }> {
  const c = (await stack.agent.store.read()).consoles[node];
  if (!c) throw new Error(`no console for ${node} in the agent's state`);
  if (c.vncPassword) noteSecret(c.vncPassword);
  return { ...rfbEndpoint(c), ...(c.vncPassword ? { password: c.vncPassword } : {}) };
}

// One watching viewer per console, kept connected: the console opens the BMC's KVM while a viewer is connected,
// so a connect-capture-disconnect would never see it.
const watchers = new Map<string, RfbClient>();

export async function consoleFrame(
  stack: Stack,
  node: string,
): Promise<{ width: number; height: number; rgba: Buffer }> {
  const ep = await consoleEndpoint(stack, node);
  const key = `${node}@${ep.host}:${ep.port}`;
  let client = watchers.get(key);
  if (!client) {
    client = await RfbClient.connect({ ...ep, timeoutMs: 8000 });
    const c = client;
    c.on('close', () => watchers.get(key) === c && watchers.delete(key));
    c.on('error', () => {});
    watchers.set(key, c);
  }
  try {
    await client.requestUpdate(false);
  } catch (err) {
    watchers.delete(key);
    client.close();
    throw err;
  }
  return { width: client.width, height: client.height, rgba: Buffer.from(client.framebuffer) };
}

/** Disconnects the suite's watching viewers of `node` (all when omitted). */
export function stopWatching(node?: string): void {
  for (const [key, c] of watchers)
    if (!node || key.startsWith(`${node}@`)) {
      watchers.delete(key);
      c.close();
    }
}

/** True when the console's screen shows the profile's KVM marker square (a working KVM of that vendor). */
export async function showsKvm(stack: Stack, node: string, profile: ProfileName): Promise<boolean> {
  return findColourBlock(await consoleFrame(stack, node), kvmMarkerColor(profile), 12) !== null;
}

export function rgbaToPng(frame: { width: number; height: number; rgba: Buffer }): Buffer {
  const png = new PNG({ width: frame.width, height: frame.height });
  frame.rgba.copy(png.data);
  // RFB pixels come without alpha; make them opaque.
  for (let i = 3; i < png.data.length; i += 4) png.data[i] = 255;
  return PNG.sync.write(png);
}

export async function screenText(frame: { width: number; height: number; rgba: Buffer }): Promise<string> {
  return ocr(rgbaToPng(frame));
}
