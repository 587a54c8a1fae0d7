#!/usr/bin/env bash
# Benchmark: `cutover status` of one app and of ten, against a local moto,
# beside the floor (benches/floor.rs reading the same with the fewest calls,
# same concurrency), in the same run.
#
#   benches/status.sh           CUTOVER_BIN=target/debug/cutover benches/status.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/lib.sh
RUNS="${RUNS:-7}"
bench_setup
FLOOR=$(floor_bin)
mkdir -p "$WORK/plans"
apps 10 plans/app
ls "$WORK"/plans/*.toml | xargs -P 4 -I{} "$BIN" apply {} --auto-approve >/dev/null 2>&1
for _ in $(seq "$RUNS"); do
  time_ms "$BIN" status "$WORK/plans/app0.toml" >> "$WORK/one.ms"
  time_ms "$FLOOR" observe 1 health launch >> "$WORK/one-floor.ms"
  time_ms "$BIN" status "$WORK/plans" >> "$WORK/ten.ms"
  time_ms "$FLOOR" observe 10 health launch >> "$WORK/ten-floor.ms"
done
calls() { "$BIN" -v status "$1" 2>&1 >/dev/null | sed -n 's/^\([0-9]*\) API calls.*/\1/p'; }
echo "status, medians of $RUNS against moto on loopback ($BIN, $(nproc) cores):"
header
row "status of 1 app ($(calls "$WORK/plans/app0.toml") calls)" "$(median < "$WORK/one.ms") ms" "$(median < "$WORK/one-floor.ms") ms" "≤ 30 ms"
row "status of 10 apps ($(calls "$WORK/plans") calls)" "$(median < "$WORK/ten.ms") ms" "$(median < "$WORK/ten-floor.ms") ms" "≤ 60 ms"
