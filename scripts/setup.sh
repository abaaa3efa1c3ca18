#!/usr/bin/env bash
# Installs everything the demo and the tests need on a fresh Debian 12 machine; quick when all is there.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
apt_install_missing "${HOST_PACKAGES[@]}"
install_node
step "node $(node --version), npm $(npm --version) from $(dirname "$(command -v node)")"
# node_modules made by another node (the machine's) is made again: npm ci runs the build with this one.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ] \
  || [ "$(cat node_modules/.bmc-node-version 2>/dev/null)" != "$NODE_VERSION" ]; then
  step "npm ci"
  npm ci --no-audit --no-fund
  echo "$NODE_VERSION" >node_modules/.bmc-node-version
else
  step "npm build (node_modules up to date)"
  npm run -s build
fi
[ "${SKIP_IMAGE:-0}" = 1 ] || bash scripts/image-build.sh
