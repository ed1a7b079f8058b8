#!/usr/bin/env bash
# ./test.sh: the same set-up as ./isola serve, then every test suite. Ends with one line
# "N passed, N failed[, N skipped]" summed over all suites, and exits non-zero on any failure.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$ROOT/scripts/provision.sh"
cd "$ROOT"

ensure_postgres
ensure_deno
ensure_curl
ensure_test_npm
export ISOLA_DENO="$DENO_BIN"

results="$ROOT/test/results"
rm -rf "$results" && mkdir -p "$results"
passed=0 failed=0 skipped=0 broken=0

# .NET: every test project in the solution, one TRX file each.
if ! dotnet build "$ROOT/Isola.slnx" -c Release --nologo -v q -clp:"ErrorsOnly;NoSummary"; then
  say "build failed"
  broken=1
else
  dotnet test "$ROOT/Isola.slnx" -c Release --no-build --nologo \
    --logger "trx" --logger "console;verbosity=normal" --results-directory "$results" || true
  trx_count=0
  for trx in "$results"/*.trx; do
    [ -f "$trx" ] || continue
    trx_count=$((trx_count + 1))
    counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n1)
    get() { printf '%s' "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
    passed=$((passed + $(get passed)))
    failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
    skipped=$((skipped + $(get notExecuted)))
  done
  # A crashed test host writes no TRX: count that as a failure, never as zero tests.
  [ "$trx_count" -gt 0 ] || { say "no test results were written"; broken=1; }
fi

# The Deno worker runtime's own suite (runtime/run-tests.sh prints "N passed, N failed[, N skipped]").
runtime_summary=$("$ROOT/runtime/run-tests.sh" 2>&1 | tee "$results/runtime.txt" | tail -n 1)
if [[ "$runtime_summary" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed(,\ ([0-9]+)\ skipped)?$ ]]; then
  passed=$((passed + BASH_REMATCH[1]))
  failed=$((failed + BASH_REMATCH[2]))
  skipped=$((skipped + ${BASH_REMATCH[4]:-0}))
else
  say "the runtime suite printed no summary (see test/results/runtime.txt)"
  broken=$((broken + 1))
fi

failed=$((failed + broken))
summary="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
