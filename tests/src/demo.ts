/**
 * `npm run demo`: an emulated BMC, a real console container started by the agent's podman provider, and the proxy;
 * prints the URL to open. Ctrl-C or SIGTERM stops and removes everything it started.
 *   --vendor PROFILE     emulator profile (default idrac9)
 *   --screenshot FILE    save what a browser shows at the URL once the KVM canvas is on screen
 *   --json               print one line {"url","node","vendor"} once the console is ready
 *   --port N             the proxy's port (default 6090; 0 = any free port)
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { kvmMarkerColor } from '@bmc-console/bmc-emulator/marker';
import { PROFILE_NAMES, type ProfileName } from '@bmc-console/bmc-emulator/profiles';
import { launchBrowser, openViewer } from './browser.js';
import { decodePng, findColourBlock } from './screen.js';
import { startStack, type Stack } from './stack.js';

function fail(message: string): never {
  process.stderr.write(`demo: ${message}\n`);
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    vendor: { type: 'string', default: 'idrac9' },
    screenshot: { type: 'string' },
    json: { type: 'boolean', default: false },
    port: { type: 'string', default: '6090' },
    node: { type: 'string', default: 'demo-node-1' },
  },
  strict: true,
});
const vendor = values.vendor as ProfileName;
if (!(PROFILE_NAMES as readonly string[]).includes(vendor))
  fail(`--vendor: expected one of ${PROFILE_NAMES.join(', ')}, got ${JSON.stringify(values.vendor)}`);
const proxyPort = Number(values.port);
if (!Number.isInteger(proxyPort) || proxyPort < 0 || proxyPort > 65535)
  fail(`--port: expected a port number, got ${JSON.stringify(values.port)}`);
const say = (line: string) => {
  if (!values.json) process.stdout.write(`${line}\n`);
};

let stack: Stack | undefined;
let stopping = false;
async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    say('\nstopping: console container, proxy, agent, emulator ...');
    await stack?.close().catch((err: unknown) => process.stderr.write(`demo: cleanup: ${String(err)}\n`));
  }
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

try {
  say(`starting the BMC emulator (${vendor}), the host agent (podman provider) and the proxy ...`);
  stack = await startStack({ proxyPort });
  const node = values.node;
  const emu = await stack.emulator(vendor, { node });
  say(`emulated BMC: ${emu.url} (user ${emu.username})`);
  say(`starting the console container for node ${node} ...`);
  const started = await stack.startConsole(node, emu);
  say(`console container answers VNC on ${started.host}:${started.port} (published on loopback only)`);

  if (values.screenshot) {
    const browser = await launchBrowser();
    try {
      const page = await openViewer(browser, started.url);
      const colour = kvmMarkerColor(vendor);
      const deadline = Date.now() + 90_000;
      for (;;) {
        const png = await page.screenshot();
        if (findColourBlock(decodePng(png), colour, 12)) {
          writeFileSync(values.screenshot, png);
          break;
        }
        if (Date.now() > deadline) fail('the KVM canvas did not appear in the viewer within 90 s');
        await new Promise((r) => setTimeout(r, 500));
      }
      await page.close();
      say(`screenshot of the viewer saved to ${values.screenshot}`);
    } finally {
      await browser.close();
    }
  }

  if (values.json) process.stdout.write(`${JSON.stringify({ url: started.url, node, vendor })}\n`);
  else {
    say('\nOpen this URL in a browser (valid for the token lifetime; run again for a new one):');
    say(`\n    ${started.url}\n`);
    say('Press Ctrl-C to stop and remove everything.');
  }
} catch (err) {
  process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n`);
  await shutdown(1);
}
