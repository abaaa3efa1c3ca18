#!/usr/bin/env bash
# Installs everything the demo and the tests need on a fresh Debian 12 machine; quick when all is there.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
apt_install_missing "${HOST_PACKAGES[@]}"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "npm ci"
  npm ci --no-audit --no-fund
else
  step "npm build (node_modules up to date)"
  npm run -s build
fi
[ "${SKIP_IMAGE:-0}" = 1 ] || bash scripts/image-build.sh
