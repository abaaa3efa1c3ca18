/**
 * The child side of the direct benchmark's emulator fleet (bundled by bundleEntry, started with startNodeChild): one
 * BMC emulator per console, in a process of its own so that the fleet, the proxy and the benchmark's viewers do not
 * share an event loop. Args: <vendor> <count>. Env: BENCH_FLEET_CERT_FILE / BENCH_FLEET_KEY_FILE (one certificate for
 * all, so that starting 100 emulators generates no keys) and BMC_EMULATOR_PASSWORD (read by the emulator; the
 * password stays out of argv and of what this prints). Prints {"benchReady":true,"emulators":[...]} when all listen.
 */
import { startEmulator, type RunningEmulator } from '@bmc-console/bmc-emulator/emulator';
import type { DirectVendor } from '@bmc-console/common/contracts/direct-target';
import { createLogger } from '@bmc-console/common/log';
import { exitWithParent } from './child-process.js';

/** What the fleet reports when ready: where each emulator answers (the password is the parent's). */
export interface FleetReady {
  benchReady: true;
  emulators: { url: string; username: string }[];
}

const [vendor, countArg] = process.argv.slice(2) as [DirectVendor, string];
const count = Number(countArg);
const certFile = process.env.BENCH_FLEET_CERT_FILE;
const keyFile = process.env.BENCH_FLEET_KEY_FILE;
const logger = createLogger('bench-fleet', { level: 'error' });
const running: RunningEmulator[] = [];
// A few at a time: each start binds its listeners; all at once would only queue on the same event loop.
for (let i = 0; i < count; i += 10) {
  const batch = Array.from({ length: Math.min(10, count - i) }, (_, j) =>
    startEmulator({
      vendor,
      node: `bench-direct-${i + j + 1}`,
      logger,
      ...(certFile && keyFile ? { certFile, keyFile } : {}),
    }),
  );
  running.push(...(await Promise.all(batch)));
}
const ready: FleetReady = {
  benchReady: true,
  emulators: running.map((e) => ({ url: e.url, username: e.username })),
};
process.stdout.write(`${JSON.stringify(ready)}\n`);
process.on('SIGTERM', () => {
  void Promise.allSettled(running.map((e) => e.close())).finally(() => process.exit(0));
});
exitWithParent();
