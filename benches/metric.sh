#!/usr/bin/env bash
# Benchmark: how long after its first bad minute a bad release is rolled
# back by a metric gate, in provider time on the sandbox's virtual clock,
# against the limit the gates promise: the gate's window, plus the two
# minutes CloudWatch takes to publish a minute whole, plus one poll (30 s).
# No moto (it has no CloudWatch metrics): the sandbox's traffic model makes
# them, 6,000 requests a minute, and the image of the release fails ERRORS
# of its requests.
#
# Each case is the demo plan (plans/demo.toml) with its error_rate gate's
# window set to WINDOW: release 1 goes live on blue, then release 2 is applied and
# must end with exit 3 and production home. From the sandbox file:
# - the first bad minute is the first whole minute green served at 10%
#   (green's first minute of traffic, or the next one when the shift came
#   within it: a whole minute at 10% is 600 requests);
# - the rollback is when the production listener's weights last changed
#   (the listener keeps its forward before the last change and when), from
#   10% green to none.
# Each case runs from STARTS clock offsets (seconds into a minute) and the
# worst is shown.
#
#   benches/metric.sh      WINDOWS="1 3 5" ERRORS="0.05 0.2" STARTS="0 17 43" benches/metric.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/lib.sh
# Provider time is the same for any build: without CUTOVER_BIN, the
# release build when there is one, else the debug build.
if [ -z "${CUTOVER_BIN:-}" ] && [ ! -x "$BIN" ]; then
  BIN=target/debug/cutover
  [ -x "$BIN" ] || cargo build --locked
fi
[ -x "$PY" ] || PY=python3
WINDOWS="${WINDOWS:-1 3 5}"
ERRORS="${ERRORS:-0.05 0.2}"
STARTS="${STARTS:-0 17 43}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# case WINDOW_MINUTES ERROR_RATE START_SECONDS: prints the seconds from the
# first bad minute to the rollback, or fails saying why.
case_once() {
  local dir="$WORK/$1-$2-$3"
  mkdir -p "$dir"
  # The first window in the plan is the error_rate gate's; the latency
  # gate keeps its own (2m), so reads for it can delay the error_rate
  # gate's by up to a poll, as in a real plan.
  sed -E "0,/^window = \"[0-9]+m\"/s//window = \"$1m\"/" plans/demo.toml > "$dir/v1.toml"
  sed 's/ami-0demo0000000001/ami-0demo0000000002/' "$dir/v1.toml" > "$dir/v2.toml"
  # 2026-01-01T00:00:00Z plus START seconds, on the virtual clock.
  cat > "$dir/sandbox.json" <<JSON
{"settings": {"clock": "virtual", "time_scale": 10, "boot_secs": 20,
              "virtual_now_ms": $((1767225600 + $3))000},
 "traffic": {"requests_per_minute": 6000,
             "images": {"ami-0demo0000000002": {"error_rate": $2}}}}
JSON
  "$BIN" apply "$dir/v1.toml" --sandbox "$dir/sandbox.json" --auto-approve > "$dir/v1.out" 2>&1 \
    || { echo "release 1 did not go live:" >&2; cat "$dir/v1.out" >&2; return 1; }
  local code=0
  "$BIN" apply "$dir/v2.toml" --sandbox "$dir/sandbox.json" --auto-approve > "$dir/v2.out" 2>&1 || code=$?
  if [ "$code" != 3 ] || ! grep -q "gate failed on green at 10%: metric error_rate" "$dir/v2.out"; then
    echo "release 2 was not rolled back at 10% by the error_rate gate (exit $code):" >&2
    tail -5 "$dir/v2.out" >&2
    return 1
  fi
  "$PY" - "$dir/sandbox.json" <<'PY'
import json, sys
w = json.load(open(sys.argv[1]))
arn = {tg["name"]: a for a, tg in w["target_groups"].items()}
green = arn["shop-green"]
listener = next(l for l in w["listeners"].values() if l["port"] == 80)
weight = lambda forward, tg: sum(n for a, n in forward if a == tg)
before, changed_ms = listener["before"]
if weight(listener["forward"], green) != 0 or weight(before, green) != 10:
    sys.exit(f"the last weight change was not from 10% green to none: {before} -> {listener['forward']}")
minutes = w["traffic"]["minutes"][green]
first = min(int(m) for m in minutes)
whole = w["traffic"]["requests_per_minute"] * 0.10
if minutes[str(first)]["requests"] < whole * 0.999:
    first += 60
print(round(changed_ms / 1000 - first))
PY
}

echo "metric gates: from a bad release's first bad minute to production home, provider time on the sandbox's virtual clock ($BIN, worst of starts $STARTS s into a minute):"
printf '  %-44s %10s %10s %8s   %s\n' "figure" "measured" "limit" "ratio" "target"
for window in $WINDOWS; do
  for errors in $ERRORS; do
    worst=0 all=""
    for start in $STARTS; do
      s=$(case_once "$window" "$errors" "$start")
      all="$all $s"
      [ "$s" -gt "$worst" ] && worst=$s
    done
    limit=$((window * 60 + 120 + 30))
    printf '  %-44s %10s %10s %8s   %s\n' \
      "window ${window}m, green failing $(awk "BEGIN {print $errors * 100}")%" "${worst} s" "${limit} s" \
      "$(ratio "$worst" "$limit")" "≤ window + 2 min + 30 s (each start:$all s)"
  done
done
