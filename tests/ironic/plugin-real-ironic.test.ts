/**
 * The plugin's pytest suite inside the Ironic 29 image, against the real `ironic` modules and the installed plugin
 * (no stand-ins): the two cases the host run skips ("needs the real Ironic") run here, and none may be skipped.
 */
import { describe, expect, it } from 'vitest';
import { podman } from './lib/podman.js';
import { ironicPreconditions } from './lib/preconditions.js';

const { image, skip } = await ironicPreconditions('the plugin tests against the real Ironic');

describe.skipIf(skip)('ironic-plugin pytest suite against the real Ironic 29', () => {
  it('every case passes with BMC_CONSOLE_IRONIC_STANDINS=0, none skipped', async () => {
    const out = await podman(
      [
        'run',
        '--rm',
        '--network',
        'none',
        '-e',
        'BMC_CONSOLE_IRONIC_STANDINS=0',
        image,
        'bash',
        '-c',
        'cd /src/ironic-plugin && python3 -m pytest -p no:cacheprovider -q -rs tests 2>&1; echo "exit=$?"',
      ],
      { timeoutMs: 300_000 },
    );
    const summary =
      out
        .trim()
        .split('\n')
        .filter((l) => / in [\d.]+s/.test(l))
        .pop() ?? '';
    expect(out, out).toMatch(/exit=0\s*$/);
    // Warnings (deprecations inside Ironic) are fine; skipped, failed or errored cases are not.
    expect(summary, out).toMatch(/^\d+ passed(, \d+ warnings?)? in /);
    expect(Number(/^(\d+) passed/.exec(summary)?.[1])).toBeGreaterThan(20);
  }, 300_000);
});
