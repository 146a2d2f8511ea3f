#!/usr/bin/env bash
# bench/overlay_ab.sh: ping RTT A/B of two overlayd builds, measured side by
# side. On a shared 2-vCPU VM the RTT of one bench/overlay.sh run drifts by
# ±100 µs from run to run, more than the changes worth measuring; here both
# overlayds (and plain veth routing) run in the same namespaces at the same
# time, and short ping bursts alternate veth / A / B for ROUNDS rounds, so each
# round compares the three under the same load. Prints per-round medians and
# the median over rounds of (overlay - veth) for A and B. Needs root,
# iproute2, ping, jq. Namespaces are named rvab-<pid>-*, removed on exit.
#
#   A=path to overlayd (baseline)   B=path to overlayd (candidate)
#   A_FLAGS / B_FLAGS=extra `overlayd run` flags   ROUNDS (20)   COUNT=pings per burst (100)
set -euo pipefail
A=${A:?A=overlayd path}
B=${B:?B=overlayd path}
rounds=${ROUNDS:-20}
count=${COUNT:-100}
P=rvab-$$-
source "$(dirname "$0")/lib/overlay_pair.bash"

# burst NS ADDR -> median RTT in us
burst() {
  ip netns exec $P$1 ping -c $count -i 0.005 -W 1 $2 2>/dev/null |
    sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' | sort -g |
    awk '{v[NR] = $1} END {if (NR) printf "%d", v[int((NR + 1) / 2)] * 1000; else printf "0"}'
}
for pair in va:10.77.2.2 A1:10.250.1.3 B1:10.250.2.3; do  # warm ARP and routes
  ip netns exec $P${pair%%:*} ping -c 3 -i 0.1 -W 1 ${pair#*:} >/dev/null 2>&1 || true
done
: > $tmp/rounds
for r in $(seq $rounds); do
  v=$(burst va 10.77.2.2)
  if [ $((r % 2)) = 1 ]; then a=$(burst A1 10.250.1.3); b=$(burst B1 10.250.2.3)
  else b=$(burst B1 10.250.2.3); a=$(burst A1 10.250.1.3); fi  # alternate who goes first
  echo "$r veth=$v A=$a B=$b A-veth=$((a - v)) B-veth=$((b - v))"
  echo "$((a - v)) $((b - v))" >> $tmp/rounds
done
med() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
echo "median over $rounds rounds of (overlay - veth), µs: A $(cut -d' ' -f1 $tmp/rounds | med)  B $(cut -d' ' -f2 $tmp/rounds | med)"
for v in A B; do
  for h in 1 2; do
    echo "$v h$h counters: $(${!v} --stats --socket $tmp/$v$h.sock | jq -c '.counters | with_entries(select(.value > 0))')"
  done
done
