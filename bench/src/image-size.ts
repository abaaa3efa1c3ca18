/**
 * What takes the space in the console image (issue #26: at or under 700 MB): podman's size of the image, each layer's
 * size, and the bytes under the paths that make up most of it, read inside a throwaway container (`du -sb`, bytes
 * of file content; podman's layer sizes also count each file's tar header, so they come out a little larger).
 * Usage: node bench/src/image-size.ts [IMAGE]   (default localhost/bmc-console:latest; needs podman)
 */
import { execFileSync } from 'node:child_process';

const PATHS = [
  '/usr/lib/chromium',
  '/usr/lib/x86_64-linux-gnu',
  '/usr/share/icons',
  '/usr/share/fonts',
  '/usr/share',
  '/usr/local/bin/node',
  '/opt/bmc-console/node_modules',
  '/opt/bmc-console/dist',
  '/opt/bmc-console/compile-cache',
  '/var/lib/dpkg',
];

export interface ImageSize {
  image: string;
  /** podman's size of the image, bytes. */
  bytes: number;
  layers: { bytes: number; createdBy: string }[];
  /** Bytes of file content under each path (hard links counted once). */
  paths: Record<string, number>;
  packages: number;
}

function podman(args: string[]): string {
  return execFileSync('podman', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function measureImage(image: string): ImageSize {
  const bytes = Number(podman(['image', 'inspect', '--format', '{{.Size}}', image]).trim());
  const history: unknown = JSON.parse(podman(['history', '--format', 'json', image]));
  if (!Array.isArray(history)) throw new Error(`podman history ${image}: not a list`);
  // One du per path: a single du counts a directory inside an earlier one only once.
  const script = `for p in ${PATHS.join(' ')}; do du -sb "$p" 2>/dev/null; done; echo "packages $(dpkg-query -W | wc -l)"`;
  const out = podman(['run', '--rm', '--user', '0', '--entrypoint', 'sh', image, '-c', script]);
  const paths: Record<string, number> = {};
  let packages = 0;
  for (const line of out.split('\n')) {
    const [size, path] = line.split(/\s+/, 2);
    if (size === 'packages') packages = Number(path);
    else if (size && path) paths[path] = Number(size);
  }
  return {
    image,
    bytes,
    layers: history
      .map((l: { size?: unknown; CreatedBy?: unknown }) => ({
        bytes: Number(l.size ?? 0),
        createdBy: String(l.CreatedBy ?? '').slice(0, 80),
      }))
      .filter((l) => l.bytes > 0)
      .reverse(),
    paths,
    packages,
  };
}

const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = measureImage(process.argv[2] ?? 'localhost/bmc-console:latest');
  console.log(`${r.image}: ${mb(r.bytes)}, ${r.packages} Debian packages`);
  console.log('layers:');
  for (const l of r.layers) console.log(`  ${mb(l.bytes).padStart(9)}  ${l.createdBy}`);
  console.log('paths:');
  for (const [p, n] of Object.entries(r.paths)) console.log(`  ${mb(n).padStart(9)}  ${p}`);
}
