#!/usr/bin/env bash
# Builds localhost/bmc-console:latest (and, when no registry can be reached, the Debian base with debootstrap).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
exec bash "$ROOT/image/build/build-image.sh" "$@"
