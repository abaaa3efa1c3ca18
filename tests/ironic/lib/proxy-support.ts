/** Whether this checkout's proxy can check Ironic's own tokens (tokenSource "ironic"), or why not. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseProxyConfig } from '@bmc-console/proxy/config';
import { REPO_ROOT } from './podman.js';

export function ironicTokensUnsupported(): string | null {
  if (!existsSync(join(REPO_ROOT, 'proxy', 'src', 'ironic-token-verifier.ts')))
    return 'the proxy has no Ironic token verifier yet (proxy/src/ironic-token-verifier.ts)';
  try {
    parseProxyConfig({ tokenSource: 'ironic', ironic: { url: 'http://127.0.0.1:6385' } });
    return null;
  } catch (err) {
    return `the proxy does not accept tokenSource "ironic" yet: ${(err as Error).message.split('\n').join(' ')}`;
  }
}
