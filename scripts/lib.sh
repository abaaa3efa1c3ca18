# Shared by the project's scripts: paths, the podman configuration, and a quiet apt install.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CONTAINERS_CONF=${CONTAINERS_CONF:-$ROOT/deploy/containers.conf}
step() { printf '\n==> %s\n' "$*" >&2; }

# Debian packages the host needs: podman (runc, slirp4netns), the console stack for host-side tests,
# real VNC clients, websockify for the benchmark baseline, sushy as an independent Redfish client.
HOST_PACKAGES=(podman catatonit runc slirp4netns uidmap fuse-overlayfs debootstrap chromium fonts-dejavu-core fonts-liberation
  xvfb x11vnc vncsnapshot gvncviewer websockify python3-numpy imagemagick python3-sushy tesseract-ocr openssl ca-certificates procps iproute2 util-linux x11-xserver-utils libnss3-tools python3-pytest)

apt_install_missing() {
  local missing=()
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  step "apt-get install ${missing[*]}"
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}
