#!/usr/bin/env bash
# npm run test:ironic [-- vitest args]: only the OpenStack Ironic tests: the plugin's pytest suite on the host, then
# (vitest) the plugin's suite inside the real Ironic 29 image, deployments 1 and 2 end to end with the real Ironic
# (tests/ironic/) and our image under Ironic's own provider contract (tests/e2e/ironic-contract.test.ts). Builds or
# reuses the Ironic image first (scripts/ironic-image.sh) and ends with the plain line "N passed, N failed, N skipped".
set -uo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
t0=$SECONDS

step "Ironic 29 image"
ironic_image_env

step "ironic plugin: pytest"
pytest_xml=$(mktemp "${TMPDIR:-/tmp}/bmc-pytest.XXXXXX.xml")
rm -f "$pytest_xml"
python3 -m pytest ironic-plugin/tests -p no:cacheprovider -q -rs --junitxml="$pytest_xml"
pytest_rc=$?

step "vitest: tests/ironic, tests/e2e/ironic-contract.test.ts"
results=$(mktemp "${TMPDIR:-/tmp}/bmc-ironic-vitest.XXXXXX.json")
npx vitest run --reporter=default --reporter=json --outputFile.json="$results" tests/ironic tests/e2e/ironic-contract.test.ts "$@"
vitest_rc=$?

echo "Ironic tests took $((SECONDS - t0)) s"
node scripts/summarize-tests.mjs "$results" - "$vitest_rc" "" "$pytest_xml" "$pytest_rc"
rc=$?
rm -f "$pytest_xml" "$results"
exit $rc
