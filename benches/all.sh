#!/usr/bin/env bash
# Every benchmark, one after the other: rollback, status, drift, apply, fleet, each
# against its own moto, and metric, on the sandbox's virtual clock. About
# three minutes with a release build.
#
#   benches/all.sh           CUTOVER_BIN=target/debug/cutover benches/all.sh
set -euo pipefail
cd "$(dirname "$0")/.."
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(uname -sr)"
for b in rollback status drift apply fleet metric; do
  echo
  "benches/$b.sh"
done
