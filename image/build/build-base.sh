#!/usr/bin/env bash
# Builds a Debian bookworm base image with debootstrap and `podman import`, for machines that cannot pull
# docker.io/library/debian. The apt sources are the build host's (an air-gapped site's local mirror works too).
# Usage: build-base.sh [IMAGE]   (default localhost/debian:bookworm-slim)
set -euo pipefail
IMG=${1:-${IMG:-localhost/debian:bookworm-slim}}
WORKDIR=${BASE_WORKDIR:-$(mktemp -d /var/tmp/bmc-console-base.XXXXXX)}
R=$WORKDIR/rootfs
cleanup() { rm -rf "$WORKDIR"; }
trap cleanup EXIT

# The mirror debootstrap fetches from: the first Debian URI the host's apt uses (deb822 or one-line format).
host_mirror() {
  local uri
  uri=$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -1 || true)
  [ -n "$uri" ] || uri=$(grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | grep -v security | awk '{print $2}' | head -1 || true)
  echo "${uri:-http://deb.debian.org/debian}"
}
MIRROR=${MIRROR:-$(host_mirror)}

command -v debootstrap >/dev/null || { apt-get update -q && apt-get install -y -q --no-install-recommends debootstrap; }
echo "build-base: debootstrap bookworm from $MIRROR into $R" >&2
debootstrap --variant=minbase bookworm "$R" "$MIRROR"

# The host's apt sources, so the image sees the same mirrors (and security updates) as the build host.
rm -f "$R/etc/apt/sources.list"
copied=0
for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
  [ -f "$f" ] || continue
  grep -qE 'debian' "$f" || continue
  cp "$f" "$R/etc/apt/sources.list.d/"; copied=1
done
if [ "$copied" = 0 ] && [ -f /etc/apt/sources.list ]; then cp /etc/apt/sources.list "$R/etc/apt/sources.list"; copied=1; fi
if [ "$copied" = 0 ]; then
  printf 'deb %s bookworm main\ndeb %s bookworm-updates main\n' "$MIRROR" "$MIRROR" > "$R/etc/apt/sources.list"
fi

# Docker-slim-style trimming: no docs, man pages or locales; no apt caches; no recommends.
cat > "$R/etc/dpkg/dpkg.cfg.d/docker-slim" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
DPKG
cat > "$R/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
echo 'Acquire::Languages "none";' > "$R/etc/apt/apt.conf.d/docker-no-languages"
echo 'APT::Install-Recommends "false"; APT::Install-Suggests "false";' > "$R/etc/apt/apt.conf.d/docker-no-recommends"
find "$R/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
find "$R/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
rm -rf "$R"/usr/share/man/* "$R"/usr/share/info/* "$R"/usr/share/locale/* "$R"/usr/share/lintian/*
rm -rf "$R"/var/cache/apt/archives/*.deb "$R"/var/lib/apt/lists/* "$R"/var/cache/apt/*.bin "$R"/var/log/*.log "$R"/var/log/apt/* "$R"/tmp/*
# debootstrap copied the host's identity; podman provides both at run time.
rm -f "$R/etc/hostname"; : > "$R/etc/resolv.conf"

tar --numeric-owner --xattrs -C "$R" -cf "$WORKDIR/rootfs.tar" .
podman rmi -f "$IMG" >/dev/null 2>&1 || true
podman import --change 'CMD ["bash"]' --change 'ENV LANG=C.UTF-8' "$WORKDIR/rootfs.tar" "$IMG"
echo "build-base: $IMG ready" >&2
