#!/usr/bin/env bash
# The README's test command: installs what is missing, then runs the type check and every vitest suite,
# and ends with one plain line "N passed, N failed, N skipped".
set -uo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
bash scripts/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }

step "type check"
typecheck_failed=0
npx tsc -p tsconfig.json --noEmit || typecheck_failed=1

step "vitest"
rm -f .vitest-results.json
npx vitest run --reporter=default --reporter=json --outputFile.json=.vitest-results.json "$@"
vitest_rc=$?

node scripts/summarize-tests.mjs .vitest-results.json "$typecheck_failed" "$vitest_rc"
