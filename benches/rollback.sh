#!/usr/bin/env bash
# Benchmark: `cutover rollback` end to end against a local moto, beside the
# article's switch-traffic script (aws-cli), a boto3 equivalent and the
# floor (benches/floor.rs: the three calls a flip needs, on the same SDK),
# in the same run; then the same with 50 ms added to every request.
# Prints medians, ratios to the floor, the targets, and cutover's own
# phase-by-phase breakdown (`cutover -v`).
#
#   benches/rollback.sh                      # target/release/cutover (built if missing)
#   CUTOVER_BIN=target/debug/cutover RUNS=3 benches/rollback.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/lib.sh
RUNS="${RUNS:-7}"
bench_setup
FLOOR=$(floor_bin)
[ -x .venv/bin/aws ] || .venv/bin/pip install -q awscli
DELAY=1h apps 1 app
sed 's/ami-0demo0000000001/ami-0demo0000000002/' "$WORK/app0.toml" > "$WORK/v2.toml"
"$BIN" apply "$WORK/app0.toml" --auto-approve >/dev/null 2>&1
"$BIN" apply "$WORK/v2.toml" --auto-approve >/dev/null 2>&1
LB=$(.venv/bin/aws elbv2 describe-load-balancers --names app0-alb --query 'LoadBalancers[0].LoadBalancerArn' --output text)
LISTENER=$(.venv/bin/aws elbv2 describe-listeners --load-balancer-arn "$LB" --query 'Listeners[?Port==`80`].ListenerArn' --output text)
BLUE=$(.venv/bin/aws elbv2 describe-target-groups --names app0-blue --query 'TargetGroups[0].TargetGroupArn' --output text)
GREEN=$(.venv/bin/aws elbv2 describe-target-groups --names app0-green --query 'TargetGroups[0].TargetGroupArn' --output text)

# The article's switch-traffic.sh: find the current target group, switch.
cat > "$WORK/switch.sh" <<SH
CURRENT=\$(.venv/bin/aws elbv2 describe-listeners --listener-arns "$LISTENER" --query 'Listeners[0].DefaultActions[0].ForwardConfig.TargetGroups[?Weight==\`100\`].TargetGroupArn | [0]' --output text)
if [ "\$CURRENT" = "$BLUE" ]; then TARGET=$GREEN; else TARGET=$BLUE; fi
.venv/bin/aws elbv2 modify-listener --listener-arn "$LISTENER" --default-actions "Type=forward,TargetGroupArn=\$TARGET" >/dev/null
SH
# The same in boto3, from the names alone (as cutover and the floor start).
cat > "$WORK/switch.py" <<'PY'
import boto3
elb = boto3.client("elbv2")
lb = elb.describe_load_balancers(Names=["app0-alb"])["LoadBalancers"][0]["LoadBalancerArn"]
tgs = {t["TargetGroupName"]: t["TargetGroupArn"] for t in elb.describe_target_groups(Names=["app0-blue", "app0-green"])["TargetGroups"]}
listener = [l for l in elb.describe_listeners(LoadBalancerArn=lb)["Listeners"] if l["Port"] == 80][0]
action = listener["DefaultActions"][0]
weighted = action.get("ForwardConfig", {}).get("TargetGroups", [])
serving = next((t["TargetGroupArn"] for t in weighted if t.get("Weight") == 100), action.get("TargetGroupArn"))
other = tgs["app0-green"] if serving == tgs["app0-blue"] else tgs["app0-blue"]
elb.modify_listener(ListenerArn=listener["ListenerArn"], DefaultActions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": other, "Weight": 100}, {"TargetGroupArn": serving, "Weight": 0}]}}])
PY

# measure LATENCY: medians of each way to roll back, at LATENCY seconds a request.
measure() {
  latency "$1"
  : > "$WORK/c.ms"; : > "$WORK/f.ms"; : > "$WORK/a.ms"; : > "$WORK/b.ms"
  for _ in $(seq "$RUNS"); do
    time_ms "$BIN" rollback "$WORK/v2.toml" >> "$WORK/c.ms"
    latency 0
    "$BIN" apply "$WORK/v2.toml" --auto-approve --retry >/dev/null 2>&1
    latency "$1"
    time_ms "$FLOOR" rollback app0-alb 80 app0-blue app0-green >> "$WORK/f.ms"
    time_ms "$FLOOR" rollback app0-alb 80 app0-blue app0-green >> "$WORK/f.ms"
    if [ "$1" = 0 ]; then
      time_ms bash "$WORK/switch.sh" >> "$WORK/a.ms"
      time_ms "$PY" "$WORK/switch.py" >> "$WORK/b.ms"
      time_ms "$PY" "$WORK/switch.py" >> "$WORK/b.ms"
      time_ms bash "$WORK/switch.sh" >> "$WORK/a.ms"
    fi
  done
  # The breakdown of one more rollback.
  "$BIN" -v rollback "$WORK/v2.toml" 2>&1 >/dev/null | grep '^timing:' > "$WORK/timing" || true
  latency 0
  "$BIN" apply "$WORK/v2.toml" --auto-approve --retry >/dev/null 2>&1
  C=$(median < "$WORK/c.ms"); F=$(median < "$WORK/f.ms")
}

echo "rollback, medians of $RUNS against moto on loopback ($BIN, $(nproc) cores):"
header
measure 0
A=$(median < "$WORK/a.ms"); B=$(median < "$WORK/b.ms")
row "cutover rollback" "$C ms" "$F ms" "≤ 25 ms, ≤ 2x the floor"
row "article's switch-traffic.sh (aws-cli)" "$A ms" "$F ms" "cutover's ratio to it: $(ratio "$C" "$A")"
row "boto3 equivalent" "$B ms" "$F ms" "cutover's ratio to it: $(ratio "$C" "$B")"
echo "  cutover's $(cat "$WORK/timing")"
measure 0.05
row "cutover rollback, +50 ms a request" "$C ms" "$F ms" "≤ 250 ms (4 round trips)"
echo "  cutover's $(cat "$WORK/timing")"
