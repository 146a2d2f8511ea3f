#!/usr/bin/env bash
# bench/overlay_hops.sh: where a ping's round trip over the overlay spends its
# time, hop by hop. tcpdump captures, with nanosecond kernel timestamps, the
# same ping at six points: container 1's eth0, host 1's TUN, host 1's and host
# 2's underlay, host 2's TUN and container 2's eth0. The gap between two
# points is either kernel forwarding (veth, routing, bridge) or one overlayd
# worker's turn: its wake-up, its syscalls and the kernel work those syscalls
# do up to the next capture point. Prints the median (p10, p90) of each hop
# and writes bench/results/overlay_hops.json.
#
#   A=overlayd (default $RV_BUILD/overlay/overlayd)   B=second overlayd (default: A)
#   A_FLAGS / B_FLAGS=extra `overlayd run` flags, e.g. B_FLAGS=--no-inline-reply
#   ROUNDS (4): rounds; each captures COUNT (200) pings every INTERVAL (0.005) s
#     over A and over B, alternating which goes first, and a veth ping burst
#   PIN_CPU=n: pin every overlayd thread and the pings to vCPU n (no wake-up
#     crosses vCPUs: the floor of this datapath on this machine)
# Needs root, iproute2, tcpdump, ping, jq. Namespaces rvhops-<pid>-*, removed
# on exit; it pings only addresses inside the namespaces it creates.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
A=${A:-${RV_BUILD:-$(dirname "$here")/build-bench}/overlay/overlayd}
B=${B:-$A}
rounds=${ROUNDS:-4}
count=${COUNT:-200}
interval=${INTERVAL:-0.005}
for t in ip tcpdump ping jq taskset; do
  command -v $t >/dev/null || { echo "overlay_hops: needs $t" >&2; exit 1; }
done
P=rvhops-$$-
source "$here/lib/overlay_pair.bash"
out=$here/results/overlay_hops.json

pinwrap=()
if [ -n "${PIN_CPU:-}" ]; then
  for p in "${pids[@]}"; do taskset -a -p -c "$PIN_CPU" "$p" >/dev/null; done
  pinwrap=(taskset -c "$PIN_CPU")
fi

# capture V: one burst of pings over overlay V, captured at the six points;
# appends "V stage time" lines (stage 0-11 along the round trip) to $tmp/events
capture() {
  local v=$1 e=1 port=7800 caps=()
  [ "$v" = B ] && { e=2; port=7801; }
  start() {
    ip netns exec $P$1 tcpdump -i $2 -w $tmp/cap-$3.pcap --time-stamp-precision=nano -B 4096 -s 128 $4 \
      >/dev/null 2>$tmp/cap-$3.err &
    caps+=($!)
  }
  start ${v}1 eth0 c1 icmp
  start h1 rvo-$e t1 icmp
  start h1 eth0 u1 "udp port $port"
  start h2 eth0 u2 "udp port $port"
  start h2 rvo-$e t2 icmp
  start ${v}2 eth0 c2 icmp
  for i in $(seq 100); do  # until every tcpdump is listening (10 s at most)
    [ "$(cat $tmp/cap-*.err 2>/dev/null | grep -c 'listening on')" -ge 6 ] && break
    sleep 0.1
  done
  ip netns exec ${P}${v}1 "${pinwrap[@]}" ping -c $count -i $interval -W 1 10.250.$e.3 >/dev/null 2>&1 || true
  sleep 1.5  # tcpdump hands packets over in blocks that retire after 1 s; SIGINT drops a pending one
  kill -INT "${caps[@]}" 2>/dev/null || true
  wait "${caps[@]}" 2>/dev/null || true
  # request / reply stage of each point: ICMP by type, underlay by source host
  for c in c1:0:11 t1:1:10 u1:2:9 u2:3:8 t2:4:7 c2:5:6; do
    IFS=: read -r f rq rp <<<"$c"
    tcpdump -r $tmp/cap-$f.pcap -tt -n --nano 2>/dev/null |
      awk -v v=$v -v rq=$rq -v rp=$rp '
        / echo request/ {print v, rq, $1; next}
        / echo reply/ {print v, rp, $1; next}
        / IP 10\.88\.0\.1\./ {print v, rq, $1; next}
        / IP 10\.88\.0\.2\./ {print v, rp, $1}'
  done >> $tmp/events
}

# veth_burst -> median RTT in us of plain veth routing
veth_burst() {
  ip netns exec ${P}va "${pinwrap[@]}" ping -c $count -i $interval -W 1 10.77.2.2 2>/dev/null |
    sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' | sort -g |
    awk '{v[NR] = $1} END {if (NR) printf "%d", v[int((NR + 1) / 2)] * 1000; else printf "0"}'
}

: > $tmp/events
: > $tmp/veth
for r in $(seq $rounds); do
  veth_burst >> $tmp/veth; echo >> $tmp/veth
  if [ $((r % 2)) = 1 ]; then capture A; capture B; else capture B; capture A; fi
  echo "round $r/$rounds done" >&2
done

# Follow each ping along the twelve stages in time order (a ping lost on the
# way is dropped) and write "V hop microseconds" lines.
sort -k3,3g $tmp/events | awk '
  {
    v = $1; s = $2 + 0; t = $3
    if (s == 0) { want[v] = 1; ts[v, 0] = t; next }
    if (!(v in want) || s != want[v]) next
    ts[v, s] = t; want[v]++
    if (want[v] < 12) next
    for (i = 1; i < 12; i++) printf "%s %d %.1f\n", v, i, (ts[v, i] - ts[v, i - 1]) * 1e6
    printf "%s total %.1f\n", v, (ts[v, 11] - ts[v, 0]) * 1e6
    printf "%s overlayd %.1f\n", v, (ts[v, 2] - ts[v, 1] + ts[v, 4] - ts[v, 3] + ts[v, 8] - ts[v, 7] + ts[v, 10] - ts[v, 9]) * 1e6
    delete want[v]
  }' > $tmp/hops

# pct V HOP -> "p50 p10 p90 n"
pct() {
  awk -v v=$1 -v h=$2 '$1 == v && $2 == h {print $3}' $tmp/hops | sort -g |
    awk '{x[NR] = $1} END {if (!NR) {print "0 0 0 0"; exit}
         printf "%.1f %.1f %.1f %d\n", x[int((NR + 1) / 2)], x[int(NR * 0.1) + 1], x[int(NR * 0.9) + 1], NR}'
}
names=("" "container -> TUN (h1 kernel)" "h1 overlayd: wake, read TUN, seal, send" "underlay (bridge)"
       "h2 overlayd: wake, receive, open, write TUN" "TUN -> container (h2 kernel)" "container answers"
       "container -> TUN (h2 kernel)" "h2 overlayd: read the answer, seal, send" "underlay (bridge)"
       "h1 overlayd: wake, receive, open, write TUN" "TUN -> container (h1 kernel)")
keys=("" c1_to_tun1 h1_tx underlay_req h2_rx tun2_to_c2 c2_answer c2_to_tun2 h2_tx underlay_rep h1_rx tun1_to_c1)
veth=$(grep -v '^$' $tmp/veth | sort -g | awk '{x[NR] = $1} END {print x[int((NR + 1) / 2)] + 0}')
printf "\n%-45s %22s %22s\n" "hop (µs: p50 [p10-p90])" "A" "B"
for h in $(seq 11) total overlayd; do
  case $h in total) n="round trip (capture to capture)";; overlayd) n="the four overlayd turns";; *) n=${names[$h]};; esac
  read a50 a10 a90 an < <(pct A $h); read b50 b10 b90 bn < <(pct B $h)
  printf "%-45s %8s [%5s-%5s] %8s [%5s-%5s]\n" "$n" $a50 $a10 $a90 $b50 $b10 $b90
done
echo "pings followed end to end: A $(pct A total | cut -d' ' -f4), B $(pct B total | cut -d' ' -f4); plain veth ping RTT median ${veth} µs"

{
  echo "{\"rounds\": $rounds, \"count\": $count, \"interval_s\": $interval, \"pin_cpu\": \"${PIN_CPU:-}\","
  echo " \"a_flags\": \"${A_FLAGS:-}\", \"b_flags\": \"${B_FLAGS:-}\", \"veth_rtt_p50_us\": $veth,"
  for v in A B; do
    echo " \"$v\": {"
    for h in $(seq 11) total overlayd; do
      case $h in total|overlayd) k=$h;; *) k=${keys[$h]};; esac
      read p50 p10 p90 n < <(pct $v $h)
      sep=,; [ "$h" = overlayd ] && sep=
      echo "  \"${k}_us\": {\"p50\": $p50, \"p10\": $p10, \"p90\": $p90, \"n\": $n}$sep"
    done
    [ $v = A ] && echo " }," || echo " }"
  done
  echo "}"
} | jq . > "$out"
echo "wrote $out"
