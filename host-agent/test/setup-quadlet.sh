#!/bin/bash
# Fetches Quadlet from Debian trixie's podman into a cache outside the repo, for validating the systemd provider's
# .container files with `quadlet -dryrun` (bookworm's podman 4.3 has no Quadlet). It never touches the system's apt
# sources or state: a private apt state under the cache dir. Prints the quadlet path, or exits 2 when it cannot.
set -euo pipefail
CACHE=${BMC_CONSOLE_QUADLET_CACHE:-/var/cache/bmc-console/quadlet}
Q=$CACHE/podman/usr/libexec/podman/quadlet
if [ -x "$Q" ]; then echo "$Q"; exit 0; fi
mkdir -p "$CACHE" 2>/dev/null || { echo "setup-quadlet: cannot create $CACHE" >&2; exit 2; }
D=$CACHE/apt; mkdir -p "$D/lists/partial" "$D/cache/archives/partial" "$D/sourceparts"; : > "$D/status"
# Reuse the host's Debian mirror (air-gapped sites point it at their own mirror).
MIRROR=$(grep -rhoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null | grep -v security | head -n1 | tr -d ' ' || true)
if [ -z "$MIRROR" ]; then
  MIRROR=$(grep -rhE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | awk '{print $2}' | head -n1 || true)
fi
MIRROR=${MIRROR:-http://deb.debian.org/debian}
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR trixie main" > "$D/sources.list"
APTOPTS=(-o Dir::Etc::sourcelist="$D/sources.list" -o Dir::Etc::sourceparts="$D/sourceparts" -o Dir::State::Lists="$D/lists"
  -o Dir::State::status="$D/status" -o Dir::Cache="$D/cache" -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=
  -o APT::Architecture=amd64 -o Debug::NoLocking=1 -q)
if ! apt-get "${APTOPTS[@]}" update >&2; then echo "setup-quadlet: apt-get update from $MIRROR (trixie) failed" >&2; exit 2; fi
mkdir -p "$CACHE/debs"
if ! (cd "$CACHE/debs" && apt-get "${APTOPTS[@]}" download podman >&2); then echo "setup-quadlet: cannot download trixie's podman" >&2; exit 2; fi
dpkg -x "$(ls "$CACHE"/debs/podman_*.deb | head -n1)" "$CACHE/podman"
[ -x "$Q" ] || { echo "setup-quadlet: no quadlet in the podman package" >&2; exit 2; }
echo "$Q"
