/**
 * The built image's OCI labels (issue 25), set by image/build/build-image.sh: version and licenses from
 * image/package.json, the git revision it was built from (-dirty with uncommitted changes), the build time, title
 * and source, next to the hash of its inputs. Skipped when podman or the image is missing (this file never builds
 * it from nothing). An existing localhost/bmc-console:latest is first brought up to date by build-image.sh, as the
 * other image tests do (a no-op when its inputs are unchanged; BMC_CONSOLE_SKIP_IMAGE_BUILD=1 skips it), so a run
 * that starts with an image built before the labels does not depend on which test file builds it first.
 * BMC_CONSOLE_IMAGE names another image, which is read as it is.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/console-process.js';
import { buildImage, IMAGE, podman, podmanUnusable } from './helpers/podman.js';

const OCI = 'org.opencontainers.image';
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'image', 'package.json'), 'utf8')) as {
  version: string;
  license: string;
};

async function whySkip(): Promise<string | undefined> {
  const unusable = podmanUnusable();
  if (unusable) return unusable;
  try {
    await podman('image', 'exists', IMAGE);
  } catch {
    return `${IMAGE} is not built (npm run image:build)`;
  }
  return undefined;
}

const skip = await whySkip();
if (skip) console.warn(`image label tests skipped: ${skip}`);
let labels: Record<string, string> = {};

/** The label's value, failing with how to get it when the image was built before the labels were added. */
function label(name: string): string {
  expect(
    labels,
    `no ${name} on ${IMAGE} (an image built before issue 25? rebuild: npm run image:build)`,
  ).toHaveProperty([name]);
  return labels[name]!;
}

describe.skipIf(!!skip)(`OCI labels of ${IMAGE}`, () => {
  beforeAll(async () => {
    // build-image.sh builds localhost/bmc-console:latest (its default IMAGE); another image is only read.
    if (!process.env.BMC_CONSOLE_IMAGE) buildImage();
    labels =
      (JSON.parse(await podman('image', 'inspect', '--format', '{{json .Config.Labels}}', IMAGE)) as Record<
        string,
        string
      > | null) ?? {};
  }, 20 * 60_000);

  it('has the image package version and license', () => {
    expect(label(`${OCI}.version`)).toBe(pkg.version);
    expect(label(`${OCI}.licenses`)).toBe(pkg.license);
    expect(pkg.license).toBe('Apache-2.0');
  });

  it('has the git revision it was built from, marked -dirty when the tree had uncommitted changes', () => {
    expect(label(`${OCI}.revision`)).toMatch(/^[0-9a-f]{40}(-dirty)?$/);
  });

  it('has its build time in RFC 3339, not in the future', async () => {
    const created = label(`${OCI}.created`);
    expect(created).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
    const t = Date.parse(created);
    expect(t).not.toBeNaN();
    expect(t).toBeLessThanOrEqual(Date.now() + 60_000);
    // Taken just before `podman build` starts: not after the image's own creation time.
    const imageCreated = Date.parse(
      await podman('image', 'inspect', '--format', '{{.Created.Format "2006-01-02T15:04:05Z07:00"}}', IMAGE),
    );
    expect(t).toBeLessThanOrEqual(imageCreated + 1_000);
  });

  it('has a title and a source, next to the hash of its inputs', () => {
    expect(label(`${OCI}.title`)).toBe('bmc-console');
    expect(label(`${OCI}.source`)).toMatch(/^https:\/\/\S+$/);
    expect(label('io.github.bmc-console.inputs-hash')).toMatch(/^[0-9a-f]{64}$/);
  });
});
