#!/usr/bin/env bash
# Benchmark: `cutover apply DIR` of 20 changed apps with --parallel 5
# against four times one app's apply of the same release, measured in the
# same run on the same moto (the target: at most 1.3x, since 20 apps five at
# a time are four rounds of one), and the fleet apply's peak memory
# (target: under 100 MB). Each app is a 4-step release (10/25/50/100) with
# no bake, no rollback window and no connection draining: what is measured
# is cutover's own reads, writes, read-backs and polls, app by app, and how
# well five of them share one process.
#
#   benches/fleet.sh           CUTOVER_BIN=target/debug/cutover benches/fleet.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/lib.sh
RUNS="${RUNS:-3}"
bench_setup
apps 21 app
mkdir "$WORK/fleet"
for i in $(seq 0 20); do
  sed -i 's/deregistration_delay = "1s"/deregistration_delay = "0s"/' "$WORK/app$i.toml"
done
# app20 is the one-app baseline; app0..app19 the fleet.
for i in $(seq 0 19); do mv "$WORK/app$i.toml" "$WORK/fleet/"; done
"$BIN" apply "$WORK/fleet" --auto-approve --parallel 5 >/dev/null 2>&1
"$BIN" apply "$WORK/app20.toml" --auto-approve >/dev/null 2>&1
release() { # release FILE N: the plan at release N
  sed -i "s/image_id = \"ami-0demo[0-9a-z]*\"/image_id = \"ami-0demo00000001$(printf %02d "$2")\"/" "$1"
}
peak_kb() { # peak_kb CMD…: runs CMD (output discarded), prints its peak RSS in kB
  "$PY" -c "import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)" "$@"
}
for i in $(seq "$RUNS"); do
  release "$WORK/app20.toml" "$i"
  time_ms "$BIN" apply "$WORK/app20.toml" --auto-approve >> "$WORK/one.ms"
  for f in "$WORK"/fleet/*.toml; do release "$f" "$i"; done
  t0=$(ms)
  peak_kb "$BIN" apply "$WORK/fleet" --auto-approve --parallel 5 >> "$WORK/fleet.kb"
  echo $(($(ms) - t0)) >> "$WORK/fleet.ms"
done
# Every app of the fleet is on the last release: nothing failed unseen.
"$BIN" apply "$WORK/fleet" --auto-approve --format json > "$WORK/last.json" 2>/dev/null
"$PY" -c "import json, sys
s = json.load(open(sys.argv[1]))
bad = [a['app'] for a in s['apps'] if a['result'] != 'no_changes']
assert not bad and len(s['apps']) == 20, f'not all 20 apps converged: {bad}'" "$WORK/last.json"
one=$(median < "$WORK/one.ms")
fleet=$(median < "$WORK/fleet.ms")
kb=$(sort -n "$WORK/fleet.kb" | tail -1)
echo "apply of 20 changed apps, --parallel 5, against one app's apply x 4, median of $RUNS against moto ($BIN, $(nproc) cores):"
header
row "one app's apply x 4 (baseline: $one ms each)" "$((4 * one)) ms" "-" "-"
row "20 apps, --parallel 5" "$fleet ms" "$((4 * one)) ms" "≤ 1.3x the baseline"
row "20 apps, --parallel 5: peak memory" "$((kb / 1024)) MB" "-" "< 100 MB"
