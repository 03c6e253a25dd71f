#!/usr/bin/env bash
# Benchmark (not a test): `strata migrate --rate R` — the rate achieved against the
# rate requested, on the events dataset (100,000 documents, four versions) in a
# throwaway in-memory SecantusDB.
#
#   bench/migrate-rate.sh [RATE...]     default: 250 500 1000 2000 0   (0 = unthrottled)
#
# Environment: BENCH_COUNT (100000), BENCH_SECONDS (60: a throttled run is stopped
# with SIGINT after this many seconds — the migrator finishes its batch and reports;
# 0 = every run migrates the whole collection), SWIFT_BUILD_FLAGS (e.g. "-c release").
# Each run starts from a freshly imported collection. Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${BENCH_COUNT:-100000}
window=${BENCH_SECONDS:-60}
read -r -a flags <<< "${SWIFT_BUILD_FLAGS:-}"
rates=("$@")
[ ${#rates[@]} -eq 0 ] && rates=(250 500 1000 2000 0)

swift build --product strata "${flags[@]}" >&2
bin="$(swift build --show-bin-path "${flags[@]}")/strata"
uri=$(scripts/server.sh start bench --memory)
trap 'scripts/server.sh stop bench >/dev/null' EXIT
tmp=bench/tmp
mkdir -p "$tmp"
[ -s "$tmp/events-$count/events.mixed.jsonl" ] || python3 Tests/Fixtures/datasets/gen.py --dataset events --count "$count" --out "$tmp/events-$count" >&2

echo "| requested (docs/s) | achieved (docs/s) | documents | seconds | stopped after |"
echo "|---:|---:|---:|---:|---|"
for rate in "${rates[@]}"; do
  "$bin" import -c events "$tmp/events-$count/events.mixed.jsonl" --uri "$uri" --db strata_bench --drop >&2
  args=(migrate -c events --uri "$uri" --db strata_bench --json)
  [ "$rate" != 0 ] && args+=(--rate "$rate")
  out="$tmp/run-$rate.jsonl"
  if [ "$rate" != 0 ] && [ "$window" != 0 ]; then
    timeout -s INT "$window" "$bin" "${args[@]}" > "$out" || true
  else
    "$bin" "${args[@]}" > "$out" || true
  fi
  python3 - "$out" "$rate" "$window" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
s = lines[-1]
requested = "unthrottled" if sys.argv[2] == "0" else sys.argv[2]
stopped = f"{sys.argv[3]} s (SIGINT)" if s.get("stopped") else "the end"
print(f"| {requested} | {s['rate']:,.0f} | {s['migrated']:,} | {s['seconds']:.1f} | {stopped} |")
PY
done
