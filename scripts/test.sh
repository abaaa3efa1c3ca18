#!/usr/bin/env bash
# The README's test command: installs what is missing, then runs the type check, the lint check (scripts/lint.sh),
# (without arguments) the Ironic plugin's pytest suite, every vitest suite (tests/ironic runs the real Ironic 29) and (without arguments) the
# reliability suite at its default size, and ends with one plain line "N passed, N failed, N skipped".
# BMC_TEST_RELIABILITY=0 leaves the reliability suite out.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
bash scripts/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }

step "type check"
typecheck_failed=0
npx tsc -p tsconfig.json --noEmit || typecheck_failed=1

step "lint"
lint_failed=0
bash scripts/lint.sh || lint_failed=1

pytest_xml=
pytest_rc=
if [ $# -eq 0 ]; then
  step "ironic plugin: pytest"
  pytest_xml=$(mktemp "${TMPDIR:-/tmp}/bmc-pytest.XXXXXX.xml")
  rm -f "$pytest_xml" # written by pytest; missing afterwards = pytest could not run
  # -rs lists every skipped test with its reason; exit 5 (no tests collected) counts as a failure in the summary.
  python3 -m pytest ironic-plugin/tests -p no:cacheprovider -q -rs --junitxml="$pytest_xml"
  pytest_rc=$?

  step "Ironic 29 image"
  t0=$SECONDS
  ironic_image_env
  echo "Ironic image step took $((SECONDS - t0)) s"
fi

step "vitest"
rm -f .vitest-results.json
npx vitest run --reporter=default --reporter=json --outputFile.json=.vitest-results.json "$@"
vitest_rc=$?

rel_summary=
if [ $# -eq 0 ] && [ "${BMC_TEST_RELIABILITY:-1}" != 0 ]; then
  step "reliability suite"
  rel_summary=$(mktemp "${TMPDIR:-/tmp}/bmc-reliability-summary.XXXXXX")
  rm -f "$rel_summary" # written by the suite's report; missing afterwards = the suite broke
  t0=$SECONDS
  REL_SUMMARY_FILE="$rel_summary" bash scripts/reliability.sh --no-docs
  echo "reliability suite took $((SECONDS - t0)) s"
fi

node scripts/summarize-tests.mjs .vitest-results.json "$typecheck_failed" "$vitest_rc" "$rel_summary" "$pytest_xml" "$pytest_rc" "$lint_failed"
rc=$?
[ -n "$pytest_xml" ] && rm -f "$pytest_xml"
[ -n "$rel_summary" ] && rm -f "$rel_summary"
exit $rc
