#!/usr/bin/env bash
# Benchmark: `cutover drift` over N apps (100 by default), one load balancer
# each, all in sync, against a local moto: time, AWS calls and peak memory,
# beside the floor (benches/floor.rs: the same reads with the fewest calls
# the APIs allow, same concurrency), in the same run.
#
#   benches/drift.sh           N=10 CUTOVER_BIN=target/debug/cutover benches/drift.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/lib.sh
N="${N:-100}"
RUNS="${RUNS:-3}"
bench_setup
FLOOR=$(floor_bin)
mkdir -p "$WORK/plans"
apps "$N" plans/app
ls "$WORK"/plans/*.toml | xargs -P 4 -I{} "$BIN" apply {} --auto-approve >/dev/null 2>&1
"$BIN" drift "$WORK/plans" >/dev/null || { echo "drift is not clean after apply" >&2; exit 1; }
for _ in $(seq "$RUNS"); do
  t0=$(ms)
  /usr/bin/time -f '%M' -o "$WORK/rss" "$BIN" -v drift "$WORK/plans" >/dev/null 2>"$WORK/calls"
  t1=$(ms)
  echo $((t1 - t0)) >> "$WORK/drift.ms"
  cat "$WORK/rss" >> "$WORK/drift.kb"
  t0=$(ms)
  "$FLOOR" observe "$N" settings launch > "$WORK/floor.out"
  t1=$(ms)
  echo $((t1 - t0)) >> "$WORK/floor.ms"
done
KB=$(sort -n "$WORK/drift.kb" | tail -1)
CALLS=$(sed -n 's/^\([0-9]*\) API calls.*/\1/p' "$WORK/calls" | paste -sd+ | bc)
FCALLS=$(sed -n 's/^\([0-9]*\) calls/\1/p' "$WORK/floor.out")
echo "drift of $N apps in sync, medians of $RUNS against moto on loopback ($BIN, $(nproc) cores):"
header
row "time" "$(median < "$WORK/drift.ms") ms" "$(median < "$WORK/floor.ms") ms" "≤ 2.5 s for 100, ≤ 1.3x the floor"
row "AWS calls ($(ratio "$CALLS" "$N") an app)" "$CALLS" "$FCALLS" "≤ 4 an app"
row "peak memory" "$((KB / 1024)) MB" "-" "≤ 50 MB"
grep -v DEBUG "$WORK/calls" | grep -v '^timing' | sed "s/^/    /"
