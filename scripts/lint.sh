#!/usr/bin/env bash
# The lint check: Biome's linter and formatter (biome.jsonc), the import rules between packages (dependency-cruiser,
# .dependency-cruiser.cjs) and unused files, exports and dependencies (knip, knip.json). Runs every check even when
# one fails, names the ones that failed and exits non-zero if any did. Nothing here writes to the tree.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
bin=$ROOT/node_modules/.bin
if [ ! -x "$bin/biome" ] || [ ! -x "$bin/depcruise" ] || [ ! -x "$bin/knip" ]; then
  echo "lint: biome, dependency-cruiser or knip is not installed: run npm ci" >&2
  exit 1
fi

failed=()
step "biome: lint"
"$bin/biome" ci --colors=off --formatter-enabled=false --error-on-warnings . || failed+=("biome lint")
step "biome: format check"
# Names the first files only; `npx biome format .` shows the changes, `npx biome format --write .` makes them.
if ! format_out=$("$bin/biome" ci --colors=off --linter-enabled=false --assist-enabled=false --reporter=summary . 2>&1); then
  printf '%s\n' "$format_out" | head -n 30
  unformatted=$(grep -c '^  - ' <<<"$format_out")
  failed+=("biome format: $unformatted files are not formatted (npx biome format --write . formats them)")
fi
step "dependency-cruiser: import rules"
"$bin/depcruise" --config .dependency-cruiser.cjs common image host-agent proxy bmc-emulator tests bench scripts \
  || failed+=("import rules (dependency-cruiser)")
step "knip: unused files, exports and dependencies"
"$bin/knip" --no-progress || failed+=("knip")

if [ ${#failed[@]} -eq 0 ]; then
  echo "lint: all checks passed"
  exit 0
fi
echo "lint: FAILED:"
printf '  - %s\n' "${failed[@]}"
exit 1
