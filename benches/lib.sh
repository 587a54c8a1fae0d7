# Shared by the benchmark scripts: a local moto (the tests' server, which
# can add latency to every request), the user's network, and helpers.
# Sourced, not run.

BIN="${CUTOVER_BIN:-target/release/cutover}"
PY=.venv/bin/python

bench_setup() {
  [ -x "$BIN" ] || cargo build --release --locked
  [ -x .venv/bin/moto_server ] || { python3 -m venv .venv && .venv/bin/pip install -q "moto[server]==5.2.5"; }
  WORK="$(mktemp -d)"
  "$PY" tests/support/moto_server.py -p 0 --time-scale 0.03 > "$WORK/moto.out" 2>/dev/null &
  MOTO=$!
  trap 'kill $MOTO 2>/dev/null; rm -rf "$WORK"' EXIT
  for _ in $(seq 100); do grep -q '^PORT=' "$WORK/moto.out" 2>/dev/null && break; sleep 0.1; done
  PORT=$(sed -n 's/^PORT=//p' "$WORK/moto.out")
  export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
    AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
}

# latency SECONDS: moto answers every request SECONDS later (0: no rule).
latency() {
  if [ "$1" = 0 ]; then body='[]'; else body="[{\"kind\": \"latency\", \"seconds\": $1}]"; fi
  curl -s -X POST -d "$body" "$AWS_ENDPOINT_URL/_fault/rules" >/dev/null
}

# apps N STEM: N load balancers and plans (STEM0.toml …) for apps named
# app0 … from plans/demo.toml, with no bake, no metric gates (moto has no
# CloudWatch metrics; benches/metric.sh measures them on the sandbox) and
# teardown after DELAY.
apps() {
  "$PY" - "$WORK" "$1" "$2" "${DELAY:-0s}" <<'PY'
import re, sys, boto3
work, n, stem, delay = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ec2, elb = boto3.client("ec2"), boto3.client("elbv2")
vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
subs = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=az)["Subnet"]["SubnetId"]
        for i, az in enumerate(["us-east-1a", "us-east-1b"])]
sg = ec2.create_security_group(GroupName="apps", Description="apps", VpcId=vpc)["GroupId"]
base = open("plans/demo.toml").read()
base = base.replace("vpc-0demo", vpc).replace('"subnet-0demo-a", "subnet-0demo-b"', f'"{subs[0]}", "{subs[1]}"')
base = base.replace("sg-0demo", sg).replace('delay = "30s"', f'delay = "{delay}"').replace('bake = "2s"', 'bake = "0s"')
base = re.sub(r"\n\[\[rollout\.gates\]\].*?(?=\n\[teardown\])", "\n", base, flags=re.S)
for i in range(n):
    elb.create_load_balancer(Name=f"app{i}-alb", Subnets=subs, SecurityGroups=[sg])
    plan = base.replace('name = "shop"', f'name = "app{i}"').replace("shop-alb", f"app{i}-alb")
    open(f"{work}/{stem}{i}.toml", "w").write(plan)
PY
}

# Milliseconds now, from bash itself (no process started to read the clock).
ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { "$PY" -c "import sys
try: a, b = float(sys.argv[1]), float(sys.argv[2]); print(f'{a / b:.2f}x' if b else '-')
except ValueError: print('-')" "$1" "$2"; }

# The floor program (benches/floor.rs), built in the same profile as BIN.
floor_bin() {
  local profile=release
  case "$BIN" in *debug*) profile=debug ;; esac
  local flag=""
  [ "$profile" = release ] && flag="--release"
  cargo build $flag --locked --bench floor --quiet 2>/dev/null || cargo build $flag --locked --bench floor
  ls -t target/$profile/deps/floor-* | grep -v '\.d$' | head -1
}

# time_ms CMD…: runs CMD (output discarded), prints its wall time in ms.
time_ms() {
  local t0 t1
  t0=$(ms); "$@" >/dev/null 2>&1; t1=$(ms)
  echo $((t1 - t0))
}

# row FIGURE MEASURED FLOOR TARGET: one line of a result table.
row() {
  printf '  %-44s %10s %10s %8s   %s\n' "$1" "$2" "$3" "$(ratio "${2%% *}" "${3%% *}")" "$4"
}
header() {
  printf '  %-44s %10s %10s %8s   %s\n' "figure" "measured" "floor" "ratio" "target"
}
