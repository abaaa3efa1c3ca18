import { consoleEnvironment } from '@bmc-console/common/console-env';
import { planCaMount, type CaMount } from '../ca-mount.js';
import type { AgentConfig } from '../config.js';
import type { StartRequest } from './provider.js';

/**
 * The environment a console container gets for a start request, with a `verify_ca` file rewritten to its
 * in-container path, and that file's mount: one place for the providers that run podman.
 */
export function containerEnvironment(
  req: StartRequest,
  config: AgentConfig,
): { env: Record<string, string>; mount?: CaMount } {
  const { appInfo, mount } = planCaMount(req.node, req.appInfo);
  const env = consoleEnvironment({
    app: req.app,
    appInfo,
    readOnly: req.readOnly,
    ...(config.display_width ? { displayWidth: config.display_width } : {}),
    ...(config.display_height ? { displayHeight: config.display_height } : {}),
    ...(config.kvm_release_after !== undefined ? { kvmReleaseAfter: config.kvm_release_after } : {}),
    ...(req.vncPassword ? { vncPassword: req.vncPassword } : {}),
  });
  return { env, ...(mount ? { mount } : {}) };
}
