#!/usr/bin/env bash
# npm run test:reliability [-- --full] [--no-docs] [vitest args, e.g. a file]: the reliability and security suite on
# real components (tests/reliability/*.rel.ts). Prints a table of what was tried and what held, writes
# docs/reliability.md when the whole suite ran (unless --no-docs: CI), and ends with the plain line "N passed, N failed".
# REL_SUMMARY_FILE=path: also write the counts there as JSON (scripts/test.sh folds them into its own line).
set -uo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
full=0
write_docs=1
args=()
for a in "$@"; do
  case "$a" in
    --full) full=1 ;;
    --no-docs) write_docs=0 ;;
    *) args+=("$a") ;;
  esac
done
export REL_FULL=$full
REL_OUT=$(mktemp -d "${TMPDIR:-/tmp}/bmc-reliability.XXXXXX")
export REL_OUT
# One distinctive BMC password for the whole run, so the final scan can look for it in every log.
REL_SECRET="RelPw-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')-Zq"
export REL_SECRET

step "reliability suite ($([ "$full" = 1 ] && echo full || echo default) size), output in $REL_OUT"
npx vitest run -c tests/reliability/vitest.config.ts --reporter=default --reporter=json --outputFile.json="$REL_OUT/results.json" ${args[@]+"${args[@]}"}
rc=$?
docs=()
[ ${#args[@]} -eq 0 ] && [ "$write_docs" = 1 ] && docs=(--write-docs)
node tests/reliability/report.mjs "$REL_OUT" "$rc" ${docs[@]+"${docs[@]}"}
report_rc=$?
# The run's logs stay for a look when something failed (or with REL_KEEP_OUTPUT=1); a passing run leaves nothing.
if [ "$report_rc" = 0 ] && [ "${REL_KEEP_OUTPUT:-0}" != 1 ]; then rm -rf "$REL_OUT"; else echo "reliability output kept in $REL_OUT"; fi
exit "$report_rc"
