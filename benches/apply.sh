#!/usr/bin/env bash
# Benchmark: apply's own time beyond the waits the plan configures, for a
# 4-step release (10/25/50/100, bake 0s, teardown after 0s, no connection
# draining) against a local
# moto whose Auto Scaling acts at once: everything measured is cutover's
# reads, writes, read-backs and polls.
#
#   benches/apply.sh           CUTOVER_BIN=target/debug/cutover benches/apply.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/lib.sh
RUNS="${RUNS:-3}"
bench_setup
apps 1 app
# No configured wait at all: no bake (apps), no rollback window (DELAY 0s),
# no deregistration delay.
sed -i 's/deregistration_delay = "1s"/deregistration_delay = "0s"/' "$WORK/app0.toml"
"$BIN" apply "$WORK/app0.toml" --auto-approve >/dev/null 2>&1
for i in $(seq "$RUNS"); do
  sed "s/ami-0demo0000000001/ami-0demo00000001$(printf %02d "$i")/" "$WORK/app0.toml" > "$WORK/next.toml"
  time_ms "$BIN" apply "$WORK/next.toml" --auto-approve >> "$WORK/apply.ms"
done
"$BIN" -v apply "$WORK/app0.toml" --auto-approve 2>&1 >/dev/null | grep -E '^[0-9]+ API calls' > "$WORK/calls" || true
echo "apply of a 4-step release with no configured waits, median of $RUNS against moto ($BIN, $(nproc) cores):"
header
row "apply's own overhead ($(cut -d' ' -f1 "$WORK/calls") calls)" "$(median < "$WORK/apply.ms") ms" "-" "≤ 1 s"
