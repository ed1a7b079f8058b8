#!/usr/bin/env bash
# Runs the worker runtime's test suite with the pinned Deno. Ends with one line
# "N passed, N failed[, N skipped]" and exits non-zero on any failure. Fixture bundles are built by
# the tests into temp folders; npm packages are cached in runtime/.cache/deno (ISOLA_RUNTIME_DENO_DIR).
set -uo pipefail
RUNTIME="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$RUNTIME")"
DENO="${ISOLA_DENO:-$ROOT/.tools/deno/node_modules/@deno/linux-x64-glibc/deno}"
if [ ! -x "$DENO" ]; then
  echo "Deno not found at $DENO (./isola serve installs it; or set ISOLA_DENO)" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
export ISOLA_DENO="$DENO"
# The harness asks the built host for its exact bundle and worker arguments (runtime/test/harness.ts).
. "$ROOT/scripts/provision.sh"
build_host
export ISOLA_RUNTIME_DENO_DIR="${ISOLA_RUNTIME_DENO_DIR:-$RUNTIME/.cache/deno}"
export DENO_DIR="$ISOLA_RUNTIME_DENO_DIR" NO_COLOR=1 DENO_NO_UPDATE_CHECK=1
mkdir -p "$DENO_DIR"

report="$(mktemp -d)"
trap 'rm -rf "$report"' EXIT
cd "$RUNTIME"
"$DENO" test --no-config --no-lock --allow-all --reporter=junit --junit-path="$report/junit.xml" \
  --reporter=pretty test/ 2>&1 | tee "$report/out.txt"
status=${PIPESTATUS[0]}

# The junit report lists every test (no steps are used); a missing report is a failed run.
if [ -f "$report/junit.xml" ]; then
  total=$(grep -c '<testcase ' "$report/junit.xml")
  failed=$(grep -c '<failure' "$report/junit.xml")
  skipped=$(grep -c '<skipped' "$report/junit.xml")
else
  total=0 failed=0 skipped=0
fi
passed=$((total - failed - skipped))
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1 # deno test failed before or outside any test (e.g. a type error in a test file).
fi
summary="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
