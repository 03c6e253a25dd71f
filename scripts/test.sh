#!/usr/bin/env bash
# The whole test suite against a throwaway in-memory embedded server: what
# `make test` and CI run. Builds the tests and the strata binary (the CLI tests
# run it: $STRATA_BIN), starts `.server/test`, runs `swift test`, and stops the
# server on every exit path. Extra arguments go to `swift test` (e.g. --filter X).
set -uo pipefail
cd "$(dirname "$0")/.."
read -r -a flags <<< "${SWIFT_BUILD_FLAGS:-}"

swift build --build-tests "${flags[@]}" || exit 1
bin=$(swift build --show-bin-path "${flags[@]}") || exit 1
if [ ! -x "$bin/strata" ]; then swift build --product strata "${flags[@]}" || exit 1; fi

uri=$(scripts/server.sh start test --memory) || exit 1
trap 'scripts/server.sh stop test' EXIT
trap 'exit 130' INT TERM
echo "test server: $uri"

log=$(mktemp)
start=$(date +%s)
STRATA_TEST_URI="$uri" STRATA_BIN="$bin/strata" swift test --skip-build "${flags[@]}" "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# One plain closing line: XCTest's top-level "Executed N tests, with M failures"
# (the last such line) plus Swift Testing's "Test run with N tests".
xctest=$(grep -E '^[[:space:]]*Executed [0-9]+ tests?, with [0-9]+ failures?' "$log" | tail -1)
xn=$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<< "$xctest"); xf=$(sed -E 's/.*with ([0-9]+) failures?.*/\1/' <<< "$xctest")
st=$(grep -E 'Test run with [0-9]+ tests?' "$log" | tail -1)
sn=$(sed -nE 's/.*Test run with ([0-9]+) tests?.*/\1/p' <<< "$st"); sf=$(sed -nE 's/.*failed after.* with ([0-9]+) issues?.*/\1/p' <<< "$st")
total=$(( ${xn:-0} + ${sn:-0} )); failed=$(( ${xf:-0} + ${sf:-0} ))
rm -f "$log"
echo "test.sh: swift test exited $status after $(( $(date +%s) - start )) s"
echo "tests: $(( total - failed )) passed, $failed failed"
exit "$status"
