#!/usr/bin/env bash
# README command one: install what is missing (apt, npm, console image), then run the demo (tests/src/demo.ts).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
bash scripts/setup.sh >&2
exec node --conditions=source --import tsx tests/src/demo.ts "$@"
