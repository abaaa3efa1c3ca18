/**
 * `bmc-console run`: the console container's command. Reads the environment contract (APP, APP_INFO,
 * READ_ONLY, DISPLAY_WIDTH/HEIGHT, VNC_PASSWORD, VNC_PORT, KVM_RELEASE_AFTER, DEBUG), supervises Xvfb, x11vnc and Chromium, and
 * shows the console until SIGTERM. An invalid environment is shown on the screen, not a crash loop.
 * Extra env: CHROMIUM_SANDBOX=0 (root on a test host only), BMC_CONSOLE_STATE_FILE (pids for tests).
 */
import { SECRET_FILE_VARIABLES } from '@bmc-console/common/console-env';
import { createLogger } from '@bmc-console/common/log';
import { Supervisor } from '../supervisor/supervisor.js';

/**
 * The supervisor's environment, taken out of `process.env` as far as secrets go: APP_INFO, VNC_PASSWORD and their
 * _FILE variants stay with the supervisor only, so nothing it spawns (rm, certutil, ss, Chromium) can
 * inherit them. The kernel's copy in /proc/<pid>/environ of this process stays, readable by its own user only.
 */
export function takeConsoleEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, string | undefined> {
  const taken = { ...env };
  for (const name of SECRET_FILE_VARIABLES) {
    delete env[name];
    delete env[`${name}_FILE`];
  }
  return taken;
}

export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write('usage: bmc-console run\n  configured by the environment: see docs/image.md\n');
    return 0;
  }
  if (argv.length) {
    process.stderr.write(
      `bmc-console run: unexpected argument ${JSON.stringify(argv[0])} (it is configured by the environment)\n`,
    );
    return 2;
  }
  const log = createLogger('bmc-console');
  const supervisor = new Supervisor({
    env: takeConsoleEnvironment(),
    log,
    ...(process.env.BMC_CONSOLE_STATE_FILE ? { stateFile: process.env.BMC_CONSOLE_STATE_FILE } : {}),
  });
  const stopped = new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      log.info({ signal }, 'signal received');
      // Hard limit: podman stop's grace is 10 s by default, ours is 5 s.
      setTimeout(() => resolve(0), 4500).unref();
      void supervisor.stop().then(() => resolve(0));
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  await supervisor.start();
  log.info({ vncPort: supervisor.state.vncPort, display: supervisor.state.display }, 'console ready');
  return stopped;
}
