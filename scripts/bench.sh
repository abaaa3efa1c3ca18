#!/usr/bin/env bash
# Benchmarks with same-run baselines (issue 8): writes bench/results.json and the table in docs/benchmarks.md.
#   npm run bench                       everything (proxy, then console, keys and frames if podman and the image are there)
#   npm run bench -- --only proxy       one part (proxy, console, keys, frames); the others' last results are kept
#   npm run bench -- --quick            smaller sizes
# Assumes `bash scripts/setup.sh` has run (SKIP_IMAGE=1 is enough for the proxy part).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
command -v websockify >/dev/null || { echo "bench: websockify missing; run: bash scripts/setup.sh" >&2; exit 1; }
# 1000 idle sessions hold ~4000 descriptors across client, proxy and console; raise the soft limit to the hard one.
hard=$(ulimit -Hn)
if [ "$hard" = unlimited ] || [ "$hard" -ge 65536 ]; then ulimit -n 65536; else ulimit -n "$hard"; fi
[ "$(ulimit -n)" -ge 8192 ] || echo "bench: warning: ulimit -n is $(ulimit -n); 1000 idle sessions may fail" >&2
# On a shared machine other work skews every number; a higher priority (BENCH_NICE, default -10, needs root or
# CAP_SYS_NICE; silently skipped otherwise) keeps the relays and their baselines on the CPU alike.
nice_cmd=()
if nice -n "${BENCH_NICE:--10}" true 2>/dev/null; then nice_cmd=(nice -n "${BENCH_NICE:--10}"); fi
exec "${nice_cmd[@]}" node --conditions=source --import tsx bench/src/cli.ts "$@"
