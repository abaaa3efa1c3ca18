/**
 * Runs our proxy alone in a process (bundled into proxy/dist by our-proxy.ts, plain node as shipped) so that its
 * memory and CPU can be measured like websockify's. Config: JSON in BENCH_PROXY_CONFIG (no secrets: agent URL, limits,
 * certificate file paths). Prints {"benchReady":true,"url":...,"port":N} when listening.
 */
import { startProxy } from '@bmc-console/proxy/server';
import { exitWithParent } from './child-process.js';

const config = JSON.parse(process.env.BENCH_PROXY_CONFIG ?? '{}') as Parameters<typeof startProxy>[0];
const proxy = await startProxy(config);
process.stdout.write(`${JSON.stringify({ benchReady: true, url: proxy.url, port: proxy.port })}\n`);
const stop = (): void => {
  void Promise.resolve(proxy.close()).finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
// The benchmark asks for a full GC before sampling memory, so that garbage left by earlier work does not count
// (started with --expose-gc; without it the signal is ignored).
process.on('SIGUSR2', () => (globalThis as { gc?: () => void }).gc?.());
exitWithParent();
