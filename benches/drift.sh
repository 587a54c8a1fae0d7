#!/usr/bin/env bash
# Benchmark: `cutover drift` over N apps (100 by default), one load balancer
# each, all in sync, against a local moto. Prints the time, the AWS calls
# and the peak memory, beside the floor: the fewest calls the APIs allow,
# made by benches/floor.rs on the same SDK with the same concurrency.
#
#   benches/drift.sh           N=10 benches/drift.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/lib.sh
N="${N:-100}"
RUNS="${RUNS:-3}"
bench_setup
mkdir -p "$WORK/plans"
apps "$N" plans/app
ls "$WORK"/plans/*.toml | xargs -P 4 -I{} "$BIN" apply {} --auto-approve >/dev/null 2>&1
"$BIN" drift "$WORK/plans" >/dev/null || { echo "drift is not clean after apply" >&2; "$BIN" drift "$WORK/plans" | head -20 >&2; exit 1; }
for _ in $(seq "$RUNS"); do
  t0=$(ms)
  /usr/bin/time -f '%M' -o "$WORK/rss" "$BIN" -v drift "$WORK/plans" >/dev/null 2>"$WORK/calls"
  t1=$(ms)
  echo $((t1 - t0)) >> "$WORK/drift.ms"
  cat "$WORK/rss" >> "$WORK/drift.kb"
done
T=$(median < "$WORK/drift.ms"); KB=$(sort -n "$WORK/drift.kb" | tail -1)
CALLS=$(sed -n 's/^\([0-9]*\) API calls.*/\1/p' "$WORK/calls" | paste -sd+ | bc)
echo "drift of $N apps in sync, median of $RUNS against moto on loopback ($BIN):"
echo "  time:   ${T} ms"
echo "  calls:  ${CALLS} ($(ratio "$CALLS" "$N") an app; target ≤ 4)"
echo "  memory: $((KB / 1024)) MB peak RSS (target ≤ 50 MB)"
grep -v DEBUG "$WORK/calls" | sed "s/^/    /"
