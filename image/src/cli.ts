/**
 * `bmc-console`: the console image's program.
 *   run     supervise Xvfb, x11vnc and Chromium and show the BMC's KVM (the container's command)
 *   detect  Redfish discovery: which vendor, family and generation a BMC (or a capture directory) is
 *   try     run a vendor script on the host against the emulator or a real BMC, with a screenshot per step
 *   health  the image's HEALTHCHECK: exit 0 when x11vnc listens on VNC_PORT
 *   assign  give a console started with AWAIT_APP_INFO=1 its node (APP_INFO and VNC password on stdin)
 */
import imagePackage from '../package.json' with { type: 'json' };

const commands: Record<string, () => Promise<{ main(argv: string[]): Promise<number> }>> = {
  run: () => import('./commands/run.js'),
  detect: () => import('./commands/detect.js'),
  try: () => import('./commands/try.js'),
  health: () => import('./commands/health.js'),
  assign: () => import('./commands/assign.js'),
};

const [name, ...rest] = process.argv.slice(2);
if (name === '--version' || name === '-V') {
  process.stdout.write(`${imagePackage.version}\n`);
  process.exit(0);
}
const load = name ? commands[name] : undefined;
if (!load) {
  process.stderr.write(`usage: bmc-console <${Object.keys(commands).join('|')}> [options] | --version\n`);
  process.exit(name === undefined || name === '--help' || name === '-h' ? 0 : 2);
}
load().then(
  async (m) => process.exit(await m.main(rest)),
  (err: unknown) => {
    process.stderr.write(`bmc-console ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
