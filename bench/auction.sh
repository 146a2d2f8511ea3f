#!/usr/bin/env bash
# Auctions at pod scale: real sauron + elrond processes, 10/100/1000 simulated
# hosts (real strider Agents with their own sockets and CURVE keys), 10,000 jobs,
# then a 10-minute soak at 1000 hosts (100 jobs replaced per second on the full
# pod, counting false "lost"; RV_SOAK_SECONDS=0 skips it).
# Writes bench/results/auction.json. Extra args go to rv-auction-bench
# (e.g. --hosts 100 --jobs 2000 for a quick look).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
b=${RV_BUILD:?run through bench/run}
exec "$b/bench/auction/rv-auction-bench" --sauron "$b/sauron/sauron" --elrond "$b/elrond/elrond" \
  --sim "$b/bench/auction/rv-sim-hosts" --out "$here/results/auction.json" \
  --soak-seconds "${RV_SOAK_SECONDS:-600}" "$@"
