#!/usr/bin/env bash
# Builds localhost/bmc-console-ironic:<hash> (and :latest): Debian trixie's real Ironic 29 (python3-ironic,
# ironic-common, clients, novnc) with the bmc-console conductor plugin (ironic-plugin/) pip-installed.
#  - the trixie base localhost/bmc-console-ironic-base:trixie is made with debootstrap + podman import once
#  - the image is tagged with a hash of its inputs (Containerfile, ironic-plugin/ files, base image id);
#    when that tag exists the build is skipped (FORCE=1 rebuilds)
# Usage: scripts/ironic-image.sh            prints the image name on stdout
# Env: IMAGE_REPO (default localhost/bmc-console-ironic), BASE_IMAGE, MIRROR, FORCE.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
IMAGE_REPO=${IMAGE_REPO:-localhost/bmc-console-ironic}
BASE_IMAGE=${BASE_IMAGE:-localhost/bmc-console-ironic-base:trixie}
say() { printf '==> %s\n' "$*" >&2; }
t0=$(date +%s)
command -v podman >/dev/null || { echo "ironic-image: podman is not installed" >&2; exit 1; }

host_mirror() {
  local uri
  uri=$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -1 || true)
  [ -n "$uri" ] || uri=$(grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | grep -v security | awk '{print $2}' | head -1 || true)
  echo "${uri:-http://deb.debian.org/debian}"
}

# 1. The trixie base (Debian 13; the host stays bookworm: trixie packages are installed only inside images).
if ! podman image exists "$BASE_IMAGE"; then
  [ "$(id -u)" -eq 0 ] || { echo "ironic-image: building the trixie base needs root (debootstrap)" >&2; exit 1; }
  command -v debootstrap >/dev/null || apt_install_missing debootstrap
  MIRROR=${MIRROR:-$(host_mirror)}
  work=$(mktemp -d /var/tmp/bmc-console-ironic-base.XXXXXX)
  trap 'rm -rf "$work"' EXIT
  say "debootstrap trixie from $MIRROR (about 30 s)"
  debootstrap --variant=minbase --include=ca-certificates trixie "$work/rootfs" "$MIRROR" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  R=$work/rootfs
  rm -f "$R/etc/apt/sources.list"
  cat >"$R/etc/apt/sources.list.d/debian.sources" <<SRC
Types: deb
URIs: $MIRROR
Suites: trixie trixie-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  cat >"$R/etc/dpkg/dpkg.cfg.d/docker-slim" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/locale/*
DPKG
  echo 'Acquire::Languages "none";' >"$R/etc/apt/apt.conf.d/docker-no-languages"
  echo 'APT::Install-Recommends "false"; APT::Install-Suggests "false";' >"$R/etc/apt/apt.conf.d/docker-no-recommends"
  rm -rf "$R"/var/cache/apt/archives/*.deb "$R"/var/lib/apt/lists/* "$R"/var/cache/apt/*.bin "$R"/tmp/*
  rm -f "$R/etc/hostname"; : >"$R/etc/resolv.conf"
  tar --numeric-owner --xattrs -C "$R" -cf "$work/rootfs.tar" .
  podman import --change 'CMD ["bash"]' --change 'ENV LANG=C.UTF-8' "$work/rootfs.tar" "$BASE_IMAGE" >/dev/null
  rm -rf "$work"; trap - EXIT
  say "base $BASE_IMAGE ready after $(( $(date +%s) - t0 )) s"
fi

# 2. The build context: the Containerfile and the plugin's source (no caches, no build output).
ctx=$(mktemp -d "${TMPDIR:-/var/tmp}/bmc-console-ironic-ctx.XXXXXX")
trap 'rm -rf "$ctx"' EXIT
cp "$ROOT/image/ironic/Containerfile" "$ctx/Containerfile"
(cd "$ROOT" && find ironic-plugin -type f ! -path '*/__pycache__/*' ! -path '*/.pytest_cache/*' ! -path '*.egg-info/*' \
   ! -path 'ironic-plugin/build/*' ! -name '*.pyc' -print0 | sort -z | xargs -0 cp --parents -t "$ctx")
hash=$( (cd "$ctx" && find . -type f -print0 | sort -z | xargs -0 sha256sum; podman image inspect --format '{{.Id}}' "$BASE_IMAGE") \
  | sha256sum | cut -c1-16)
IMAGE=$IMAGE_REPO:$hash
if [ "${FORCE:-0}" != 1 ] && podman image exists "$IMAGE"; then
  say "$IMAGE is up to date"
  podman tag "$IMAGE" "$IMAGE_REPO:latest"
  echo "$IMAGE"; exit 0
fi

# 3. Build (the apt layer comes from podman's layer cache when only the plugin changed).
say "building $IMAGE"
b0=$(date +%s)
podman build --format docker --build-arg "BASE_IMAGE=$BASE_IMAGE" --label io.github.bmc-console.inputs-hash="$hash" \
  -t "$IMAGE" -t "$IMAGE_REPO:latest" -f "$ctx/Containerfile" "$ctx" >&2
# Earlier builds of this repository go (podman keeps one while a container uses it).
for old in $(podman images --format '{{.Repository}}:{{.Tag}}' "$IMAGE_REPO" | grep -vE ":(latest|$hash)\$" || true); do
  podman rmi "$old" >/dev/null 2>&1 || true
done
say "built $IMAGE in $(( $(date +%s) - b0 )) s, $(( $(date +%s) - t0 )) s in all ($(podman image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"
echo "$IMAGE"
