import { readFileSync } from 'node:fs';
import { bundleEntry } from './bundle.js';
import { startNodeChild, type Child } from './child-process.js';

/** The node flags the proxy ships with: its bin's shebang and the systemd unit take them from proxy/package.json. */
function shippedNodeFlags(): string[] {
  const manifest = JSON.parse(readFileSync(new URL('../../proxy/package.json', import.meta.url), 'utf8')) as {
    bmcConsole?: { nodeFlags?: string[] };
  };
  return manifest.bmcConsole?.nodeFlags ?? [];
}

/**
 * Starts our proxy in its own process (proxy-host.ts, bundled into proxy/dist: plain node as shipped, with the
 * shipped node flags). `config` is the proxy's config (no secrets); `nodeArgs` come before the shipped flags.
 */
export async function startProxyProcess(config: object, nodeArgs: string[] = []): Promise<Child> {
  // Into proxy/dist: the proxy finds its static files relative to its own package (packageRoot).
  const script = await bundleEntry('proxy-host', 'proxy');
  return startNodeChild('bmc-console-proxy', script, [], {
    nodeArgs: [...nodeArgs, ...shippedNodeFlags()],
    env: { ...process.env, BENCH_PROXY_CONFIG: JSON.stringify(config) },
  });
}
