#!/usr/bin/env bash
# Benchmark: `cutover rollback` end to end against the article's
# switch-traffic script (aws-cli describe-listeners + modify-listener), both
# against the same local moto server, in the same run. Prints medians and the
# ratio. Not a test: numbers depend on the machine.
#
#   benches/rollback.sh            # uses target/release/cutover (builds it if missing)
#   CUTOVER_BIN=target/debug/cutover benches/rollback.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${RUNS:-5}"
BIN="${CUTOVER_BIN:-target/release/cutover}"
[ -x "$BIN" ] || cargo build --release
[ -x .venv/bin/moto_server ] || { python3 -m venv .venv && .venv/bin/pip install -q "moto[server]==5.2.5"; }
[ -x .venv/bin/aws ] || .venv/bin/pip install -q awscli

PORT="${PORT:-5099}"
.venv/bin/moto_server -H 127.0.0.1 -p "$PORT" >/dev/null 2>&1 &
MOTO=$!
WORK="$(mktemp -d)"
trap 'kill $MOTO 2>/dev/null; rm -rf "$WORK"' EXIT
export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
  AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
for _ in $(seq 50); do curl -s "$AWS_ENDPOINT_URL/moto-api/" >/dev/null && break; sleep 0.1; done

# The user's existing network and load balancer, then two releases of the demo plan.
.venv/bin/python - "$WORK" <<'PY'
import sys, boto3
work = sys.argv[1]
ec2, elb = boto3.client("ec2"), boto3.client("elbv2")
vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
subs = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=az)["Subnet"]["SubnetId"]
        for i, az in enumerate(["us-east-1a", "us-east-1b"])]
sg = ec2.create_security_group(GroupName="shop", Description="shop", VpcId=vpc)["GroupId"]
elb.create_load_balancer(Name="shop-alb", Subnets=subs, SecurityGroups=[sg])
plan = open("plans/demo.toml").read()
plan = plan.replace("vpc-0demo", vpc).replace('"subnet-0demo-a", "subnet-0demo-b"', f'"{subs[0]}", "{subs[1]}"')
plan = plan.replace("sg-0demo", sg).replace('delay = "30s"', 'delay = "1h"').replace('bake = "2s"', 'bake = "0s"')
open(f"{work}/v1.toml", "w").write(plan)
open(f"{work}/v2.toml", "w").write(plan.replace("ami-0demo0000000001", "ami-0demo0000000002"))
PY
"$BIN" apply "$WORK/v1.toml" --auto-approve >/dev/null 2>&1
"$BIN" apply "$WORK/v2.toml" --auto-approve >/dev/null 2>&1

ms() { python3 -c 'import time; print(int(time.time_ns() // 1_000_000))'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# cutover: roll back, then promote the release again (not timed), RUNS times.
for _ in $(seq "$RUNS"); do
  t0=$(ms); "$BIN" rollback "$WORK/v2.toml" >/dev/null; t1=$(ms)
  echo $((t1 - t0)) >> "$WORK/cutover.ms"
  "$BIN" apply "$WORK/v2.toml" --auto-approve --retry >/dev/null 2>&1
done

# The article's switch-traffic.sh: find the current target group, then switch.
LB=$(.venv/bin/aws elbv2 describe-load-balancers --names shop-alb --query 'LoadBalancers[0].LoadBalancerArn' --output text)
LISTENER=$(.venv/bin/aws elbv2 describe-listeners --load-balancer-arn "$LB" --query 'Listeners[?Port==`80`].ListenerArn' --output text)
BLUE=$(.venv/bin/aws elbv2 describe-target-groups --names shop-blue --query 'TargetGroups[0].TargetGroupArn' --output text)
GREEN=$(.venv/bin/aws elbv2 describe-target-groups --names shop-green --query 'TargetGroups[0].TargetGroupArn' --output text)
for _ in $(seq "$RUNS"); do
  t0=$(ms)
  CURRENT=$(.venv/bin/aws elbv2 describe-listeners --listener-arns "$LISTENER" --query 'Listeners[0].DefaultActions[0].TargetGroupArn' --output text)
  if [ "$CURRENT" = "$BLUE" ]; then TARGET=$GREEN; else TARGET=$BLUE; fi
  .venv/bin/aws elbv2 modify-listener --listener-arn "$LISTENER" --default-actions "Type=forward,TargetGroupArn=$TARGET" >/dev/null
  t1=$(ms)
  echo $((t1 - t0)) >> "$WORK/cli.ms"
done

C=$(median < "$WORK/cutover.ms"); A=$(median < "$WORK/cli.ms")
echo "rollback, median of $RUNS against moto on loopback:"
echo "  cutover rollback ($BIN): ${C} ms"
echo "  switch-traffic.sh (aws-cli): ${A} ms"
python3 -c "print(f'  ratio: cutover takes {$C / $A:.2f}x the time of the script (target ≤ 25 ms)')"
