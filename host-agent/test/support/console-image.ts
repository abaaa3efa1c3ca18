/**
 * The image the podman tests run. The real console image (localhost/bmc-console:latest) when it exists; otherwise
 * a stub built here without any registry: the host's node binary and its libraries plus a tiny server that answers
 * with an RFB greeting on :5900 (enough for the agent, which only needs the greeting). Returns undefined (tests
 * skip with a message) when podman cannot run here.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const REAL_IMAGE = 'localhost/bmc-console:latest';
const STUB_IMAGE = 'localhost/bmc-console-agent-stub:latest';
process.env.CONTAINERS_CONF ??= join(import.meta.dirname, '..', '..', '..', 'deploy', 'containers.conf');

const STUB_SERVER = `
import net from 'node:net';
net.createServer((s) => { s.on('error', () => {}); s.write('RFB 003.008\\n'); }).listen(5900, '0.0.0.0');
process.on('SIGTERM', () => process.exit(0));
`;

function imageExists(image: string): boolean {
  return spawnSync('podman', ['image', 'exists', image]).status === 0;
}

/** The real console image when built (BMC_CONSOLE_AGENT_TEST_IMAGE=stub forces the stub), else the stub. */
export function consoleImage(): { image: string; real: boolean } | { skip: string } {
  if (spawnSync('podman', ['--version']).status !== 0) return { skip: 'podman is not installed' };
  if (process.env.BMC_CONSOLE_AGENT_TEST_IMAGE !== 'stub' && imageExists(REAL_IMAGE))
    return { image: REAL_IMAGE, real: true };
  return stubImage();
}

/** The stub only: for provider mechanics (secrets, mounts, reconcile) that do not need Xvfb and Chromium. */
export function stubImage(): { image: string; real: boolean } | { skip: string } {
  if (spawnSync('podman', ['--version']).status !== 0) return { skip: 'podman is not installed' };
  if (imageExists(STUB_IMAGE)) return { image: STUB_IMAGE, real: false };
  const root = mkdtempSync(join(tmpdir(), 'agent-stub-'));
  try {
    const node = process.execPath;
    const libs = execFileSync('ldd', [node], { encoding: 'utf8' })
      .split('\n')
      .map((l) => /(\/\S+)\s+\(0x/.exec(l)?.[1])
      .filter((p): p is string => !!p);
    for (const f of [node, ...libs]) {
      const dest = join(root, f === node ? '/usr/bin/node' : f);
      mkdirSync(dirname(dest), { recursive: true });
      copyFileSync(f, dest);
    }
    mkdirSync(join(root, 'tmp'), { mode: 0o1777 });
    writeFileSync(join(root, 'stub-console.mjs'), STUB_SERVER);
    execFileSync('tar', ['-C', root, '-cf', join(root, '..', `${root.split('/').pop()}.tar`), '.']);
    const tar = join(root, '..', `${root.split('/').pop()}.tar`);
    const r = spawnSync(
      'podman',
      [
        'import',
        '--change',
        'CMD ["/usr/bin/node","/stub-console.mjs"]',
        '--change',
        'ENV PATH=/usr/bin:/bin',
        tar,
        STUB_IMAGE,
      ],
      { encoding: 'utf8' },
    );
    rmSync(tar, { force: true });
    if (r.status !== 0) return { skip: `cannot build the stub console image: ${r.stderr.trim()}` };
    return { image: STUB_IMAGE, real: false };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
