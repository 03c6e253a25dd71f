#!/usr/bin/env bash
# `make demo`: generates the three datasets with gen.py, loads them into the
# embedded server (`.server/default`, started if needed) in database
# $DEMO_DB (strata_demo), and prints the three version histograms — all
# through the built `strata` binary, which finds the server by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
read -r -a flags <<< "${SWIFT_BUILD_FLAGS:-}"
strata="$(swift build --show-bin-path "${flags[@]}")/strata"
db=${DEMO_DB:-strata_demo}
users=${DEMO_USERS:-10000}; devices=${DEMO_DEVICES:-5000}; events=${DEMO_EVENTS:-20000}
schemas=${DEMO_SCHEMAS:-schemas}

uri=$(scripts/server.sh start default)
echo "== embedded server: $uri (data in .data/default; 'make server-stop' stops it)"

generate() { # dataset count -> prints the folder
  local dir=".data/demo/$1-$2-seed1"
  if [ ! -f "$dir/$1.truth.jsonl" ]; then
    mkdir -p "$dir"
    python3 Tests/Fixtures/datasets/gen.py --dataset "$1" --count "$2" --seed 1 --out "$dir" >&2
  fi
  echo "$dir"
}
echo "== generating datasets (gen.py) into .data/demo/"
u=$(generate users "$users"); d=$(generate devices "$devices"); e=$(generate events "$events")

echo "== importing into database '$db'"
"$strata" import --db "$db" -c users "$u/users.mixed.jsonl" --drop
"$strata" import --db "$db" -c users_truth "$u/users.truth.jsonl" --drop
"$strata" import --db "$db" -c devices "$d/devices.mixed.jsonl" --drop
"$strata" import --db "$db" -c devices_truth "$d/devices.truth.jsonl" --drop
"$strata" import --db "$db" -c products "$d/products.jsonl" --drop
"$strata" import --db "$db" -c events "$e/events.mixed.jsonl" --drop
"$strata" import --db "$db" -c events_truth "$e/events.truth.jsonl" --drop

for c in users devices events; do
  echo
  echo "== strata histogram --db $db -c $c --schemas $schemas"
  "$strata" histogram --db "$db" -c "$c" --schemas "$schemas"
done
echo
echo "Try: ${strata#"$PWD"/} histogram --db $db -c events --schemas $schemas --json"
