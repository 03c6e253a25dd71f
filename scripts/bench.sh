#!/usr/bin/env bash
# `make bench`: strata's benchmark on the embedded server.
#   scripts/bench.sh [all|events|memory]      (default: all)
# - events: `strata bench` over $BENCH_SIZE (200000) generated events, every events
#   query four ways; writes bench/events-<size>.json and .md (200000 -> events-200k).
# - memory: `strata bench memory` (1M events into 100k and 10k groups, 100k into 100k);
#   writes bench/memory.json and .md.
# The server is `.server/bench` (data in .data/bench), started if needed and left
# running: the prepared collections are reused by the next run (--reuse); stop it with
# `scripts/server.sh stop bench`. strata is built with $BENCH_BUILD_FLAGS (default
# "-c release"; BENCH_BUILD_FLAGS= for debug). Other knobs: BENCH_DB (strata_bench),
# BENCH_REPETITIONS (5), BENCH_WARMUP (1), BENCH_UPGRADING_REPETITIONS (1),
# BENCH_ARGS (more `strata bench` options, e.g. "--dist 10,20,30,40").
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
case "$what" in all|events|memory) ;; *) echo "usage: scripts/bench.sh [all|events|memory]" >&2; exit 2 ;; esac
read -r -a flags <<< "${BENCH_BUILD_FLAGS--c release}"
read -r -a extra <<< "${BENCH_ARGS:-}"
size=${BENCH_SIZE:-200000}
db=${BENCH_DB:-strata_bench}
status=
label=$size; if (( size % 1000 == 0 )); then label="$((size / 1000))k"; fi

echo "== building strata (${flags[*]:-debug})"
swift build --product strata "${flags[@]}"
strata="$(swift build --show-bin-path "${flags[@]}")/strata"

uri=$(scripts/server.sh start bench)
echo "== embedded server: $uri (data in .data/bench; 'scripts/server.sh stop bench' stops it)"
mkdir -p bench

if [ "$what" != memory ]; then
  echo "== strata bench: events, $size documents (log on stderr; bench/events-$label.md and .json)"
  start=$(date +%s)
  # Exit status 2 when some answers differ: the report is written all the same; go on.
  "$strata" bench --uri "$uri" --db "$db" --size "$size" --reuse \
    --repetitions "${BENCH_REPETITIONS:-5}" --warmup "${BENCH_WARMUP:-1}" \
    --upgrading-repetitions "${BENCH_UPGRADING_REPETITIONS:-1}" \
    --json "bench/events-$label.json" --markdown "bench/events-$label.md" "${extra[@]}" || status=$?
  echo "== events: $(( $(date +%s) - start )) s, exit status ${status:-0}"
  cat "bench/events-$label.md"
fi

if [ "$what" != events ]; then
  echo "== strata bench memory (each case in a process of its own; bench/memory.md and .json)"
  start=$(date +%s)
  "$strata" bench memory --uri "$uri" --db "$db" --json bench/memory.json --markdown bench/memory.md || status=$?
  echo "== memory: $(( $(date +%s) - start )) s"
  cat bench/memory.md
fi
exit "${status:-0}"
