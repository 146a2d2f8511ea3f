#!/usr/bin/env bash
# bench/overlay.sh: iperf3 TCP throughput (1 and 2 streams) and ping RTT between
# two containers on two namespace hosts, over (1) plain veth routing (the
# ceiling), (2) wireguard-go (userspace WireGuard, Debian package) and
# (3) Rivendell's overlayd, all in the same run. Prints a table and writes
# bench/results/overlay.json. Needs root, iproute2, iperf3, wireguard-go, wg,
# ping, nsenter, jq. Every namespace is named rvb-<pid>-*, removed on exit.
#
#   RV_BUILD=build dir with overlay/overlayd   DURATION=seconds per iperf run (5)
#   PING_ONLY=1: skip iperf (throughput reported as 0), for quick latency A/B runs
#   PING_ROUNDS=n: latency rounds of 50 pings per path, interleaved (8)
#   OUT=json path (bench/results/overlay.json)   OVERLAY_FLAGS=extra overlayd run flags
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${RV_BUILD:-$root/build-bench}
overlayd=${OVERLAYD:-$build/overlay/overlayd}
dur=${DURATION:-5}
out=${OUT:-$here/results/overlay.json}
P=rvb-$$-
tmp=$(mktemp -d /tmp/rvb-$$.XXXX)
pids=()

for t in ip iperf3 wireguard-go wg ping nsenter jq; do
  command -v $t >/dev/null || { echo "overlay bench: missing $t" >&2; exit 1; }
done
[ -x "$overlayd" ] || { echo "overlay bench: no overlayd at $overlayd" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "overlay bench: needs root" >&2; exit 1; }

cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.3
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for ns in $(ip netns list | awk '{print $1}' | grep "^$P" || true); do
    # wireguard-go and iperf3 daemons live in these namespaces; they die with their pids above
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -f /var/run/wireguard/wg$$x1.sock /var/run/wireguard/wg$$x2.sock
  rm -rf "$tmp"
}
trap cleanup EXIT

nsx() { local ns=$1; shift; ip netns exec "$P$ns" "$@"; }

# --- underlay: bridge + two hosts -------------------------------------------
source "$here/lib/underlay.bash"
make_underlay $P

container() { make_container $P "$@"; }  # name host addr mtu

# --- (1) plain veth routing ----------------------------------------------------
container va 1 10.77.1.2 1500
container vb 2 10.77.2.2 1500
ip -n ${P}h1 route add 10.77.2.0/24 via 10.88.0.2
ip -n ${P}h2 route add 10.77.1.0/24 via 10.88.0.1

# --- (2) wireguard-go ------------------------------------------------------------
# Interface names carry the pid: wireguard-go's control socket path
# (/var/run/wireguard/NAME.sock) is shared by all namespaces.
umask 077
for h in 1 2; do wg genkey > $tmp/wg$h.key; wg pubkey < $tmp/wg$h.key > $tmp/wg$h.pub; done
for h in 1 2; do
  o=$((3 - h))
  nsx h$h wireguard-go -f wg$$x$h >$tmp/wg$h.log 2>&1 &
  pids+=($!)
done
for h in 1 2; do
  o=$((3 - h))
  for i in $(seq 50); do nsx h$h ip link show wg$$x$h >/dev/null 2>&1 && break; sleep 0.1; done
  nsx h$h wg set wg$$x$h listen-port 51820 private-key $tmp/wg$h.key \
    peer "$(cat $tmp/wg$o.pub)" endpoint 10.88.0.$o:51820 allowed-ips 10.66.$o.0/24
  nsx h$h ip link set wg$$x$h mtu 1420 up
  nsx h$h ip route add 10.66.$o.0/24 dev wg$$x$h
done
container wa 1 10.66.1.2 1420
container wb 2 10.66.2.2 1420

# --- (3) Rivendell overlayd ------------------------------------------------------
key=$($overlayd newkey)
aead=chacha20poly1305
grep -qw aes /proc/cpuinfo && aead=aes256gcm
for h in 1 2; do
  ip netns add ${P}o$h
  cat > $tmp/ov$h.json <<JSON
{"host_id": $h, "listen": "10.88.0.$h:7800", "underlay_mtu": 1500, "pod_cidr": "10.250.0.0/16",
 "hosts": [{"id": 1, "endpoint": "10.88.0.1:7800"}, {"id": 2, "endpoint": "10.88.0.2:7800"}],
 "envs": [{"id": 1, "subnet": "10.250.1.0/24", "aead": "$aead",
           "keys": [{"epoch": 1, "key": "$key"}],
           "routes": [{"addr": "10.250.1.2", "host": 1}, {"addr": "10.250.1.3", "host": 2}],
           "attachments": [{"addr": "10.250.1.$((h + 1))", "veth": "rvc-o$h", "netns": "${P}o$h"}]}]}
JSON
  nsx h$h "$overlayd" run --config $tmp/ov$h.json --socket $tmp/ov$h.sock ${OVERLAY_FLAGS:-} >$tmp/ov$h.log 2>&1 &
  pids+=($!)
done
for h in 1 2; do
  for i in $(seq 100); do ip -n ${P}o$h addr show dev eth0 2>/dev/null | grep -q 10.250 && break; sleep 0.05; done
done

# --- measurements -------------------------------------------------------------------
busy() { awk '/^cpu /{print $2+$3+$4+$7+$8; exit}' /proc/stat; }
hz=$(getconf CLK_TCK)

# iperf A B ADDR STREAMS -> "gbps cores_busy"
run_iperf() {
  local a=$1 b=$2 addr=$3 n=$4
  local j0 j1 t0 t1 gbps
  j0=$(busy); t0=$(date +%s.%N)
  ip netns exec $P$a iperf3 -c $addr -t $dur -P $n -J > $tmp/iperf.json 2>&1 || true
  j1=$(busy); t1=$(date +%s.%N)
  gbps=$(jq -r '(.end.sum_received.bits_per_second // 0) / 1e9' $tmp/iperf.json 2>/dev/null || echo 0)
  local cores
  cores=$(echo "scale=3; ($j1 - $j0) / $hz / ($t1 - $t0)" | bc -l)
  echo "$gbps $cores"
}
# ping A ADDR COUNT >> file: one RTT in us per line
ping_samples() {
  ip netns exec $P$1 ping -c $3 -i 0.005 -W 1 $2 2>/dev/null |
    sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' | awk '{printf "%d\n", $1 * 1000}'
}
# file -> "mean median" in us (the median shrugs off a neighbour's burst)
mean_median() {
  sort -g "$1" | awk '{v[NR] = $1; s += $1} END {if (NR) printf "%d %d", s / NR, v[int((NR + 1) / 2)]; else printf "0 0"}'
}
iperf_server() { ip netns exec $P$1 iperf3 -s -D -1 >/dev/null 2>&1 || true; sleep 0.3; }  # one client, then exits
kind_path() {  # kind -> "client server address"
  case $1 in
    veth) echo "va vb 10.77.2.2" ;;
    wg) echo "wa wb 10.66.2.2" ;;
    overlay) echo "o1 o2 10.250.1.3" ;;
  esac
}

[ -n "${HOLD:-}" ] && { echo "holding $HOLD s: namespaces ${P}*"; sleep "$HOLD"; }
declare -A R
kinds=(veth wg overlay)
# Throughput, one path after another (each needs the whole machine).
for kind in "${kinds[@]}"; do
  read a b addr < <(kind_path $kind)
  if [ -n "${PING_ONLY:-}" ]; then
    g1=0 c1=0 g2=0 c2=0
  else
    iperf_server $b
    read g1 c1 < <(run_iperf $a $b $addr 1)
    iperf_server $b
    read g2 c2 < <(run_iperf $a $b $addr 2)
  fi
  R[${kind}_g1]=$g1; R[${kind}_c1]=$c1; R[${kind}_g2]=$g2; R[${kind}_c2]=$c2
done
# Latency in interleaved rounds, the order rotating each round: the goal is a
# gap (overlay - veth), and on a shared machine the load drifts in seconds, so
# both sides of the gap are sampled in the same seconds.
rounds=${PING_ROUNDS:-8}
for kind in "${kinds[@]}"; do
  read a b addr < <(kind_path $kind)
  ip netns exec $P$a ping -c 5 -i 0.2 -W 1 $addr >/dev/null 2>&1 || true   # warm ARP/routes
  : > $tmp/rtt_$kind
done
echo "ping medians per round (us):"
for r in $(seq 0 $((rounds - 1))); do
  line="  round $((r + 1)):"
  for i in 0 1 2; do
    kind=${kinds[$(((i + r) % 3))]}
    read a b addr < <(kind_path $kind)
    ping_samples $a $addr 50 > $tmp/rtt_round
    cat $tmp/rtt_round >> $tmp/rtt_$kind
    read m p50 < <(mean_median $tmp/rtt_round; echo)
    line+=" $kind $p50"
  done
  echo "$line"
done
for kind in "${kinds[@]}"; do
  read rtt p50 < <(mean_median $tmp/rtt_$kind; echo); R[${kind}_rtt]=$rtt; R[${kind}_p50]=$p50
done

cpg() { echo "scale=2; if ($1 > 0) $2 / $1 else 0" | bc -l; }
printf "\n%-14s %12s %12s %12s %14s\n" "path" "1 stream" "2 streams" "ping RTT" "cores/(Gbit/s)"
for kind in veth wg overlay; do
  name=$kind; [ $kind = wg ] && name=wireguard-go
  printf "%-14s %8.2f Gb/s %7.2f Gb/s %9s us %14s\n" $name ${R[${kind}_g1]} ${R[${kind}_g2]} ${R[${kind}_rtt]} \
    "$(cpg ${R[${kind}_g1]} ${R[${kind}_c1]})"
done
ratio=$(echo "scale=2; if (${R[wg_g1]} > 0) ${R[overlay_g1]} / ${R[wg_g1]} else 0" | bc -l)
echo "overlay / wireguard-go single stream: ${ratio}x;  overlay ping - veth ping: $(( ${R[overlay_rtt]} - ${R[veth_rtt]} )) us (medians: $(( ${R[overlay_p50]} - ${R[veth_p50]} )) us)"
for h in 1 2; do
  echo "overlayd h$h counters: $($overlayd --stats --socket $tmp/ov$h.sock | jq -c '.counters | with_entries(select(.value > 0))')"
done

mkdir -p "$(dirname "$out")"
jq -n \
  --argjson veth_gbps "${R[veth_g1]}" --argjson wireguard_go_gbps "${R[wg_g1]}" --argjson overlay_gbps "${R[overlay_g1]}" \
  --argjson veth_gbps_2 "${R[veth_g2]}" --argjson wireguard_go_gbps_2 "${R[wg_g2]}" --argjson overlay_gbps_2 "${R[overlay_g2]}" \
  --argjson veth_rtt_us "${R[veth_rtt]}" --argjson wireguard_go_rtt_us "${R[wg_rtt]}" --argjson overlay_rtt_us "${R[overlay_rtt]}" \
  --argjson veth_rtt_p50_us "${R[veth_p50]}" --argjson wireguard_go_rtt_p50_us "${R[wg_p50]}" \
  --argjson overlay_rtt_p50_us "${R[overlay_p50]}" \
  --argjson veth_cores_per_gbps "$(cpg ${R[veth_g1]} ${R[veth_c1]})" \
  --argjson wireguard_go_cores_per_gbps "$(cpg ${R[wg_g1]} ${R[wg_c1]})" \
  --argjson overlay_cores_per_gbps "$(cpg ${R[overlay_g1]} ${R[overlay_c1]})" \
  --argjson overlay_vs_wireguard_go "$ratio" --arg aead "$aead" --argjson duration_s "$dur" --argjson ping_rounds "$rounds" \
  '{veth_gbps: $veth_gbps, wireguard_go_gbps: $wireguard_go_gbps, overlay_gbps: $overlay_gbps,
    veth_rtt_us: $veth_rtt_us, wireguard_go_rtt_us: $wireguard_go_rtt_us, overlay_rtt_us: $overlay_rtt_us,
    veth_rtt_p50_us: $veth_rtt_p50_us, wireguard_go_rtt_p50_us: $wireguard_go_rtt_p50_us,
    overlay_rtt_p50_us: $overlay_rtt_p50_us,
    veth_gbps_2streams: $veth_gbps_2, wireguard_go_gbps_2streams: $wireguard_go_gbps_2,
    overlay_gbps_2streams: $overlay_gbps_2,
    veth_cores_per_gbps: $veth_cores_per_gbps, wireguard_go_cores_per_gbps: $wireguard_go_cores_per_gbps,
    overlay_cores_per_gbps: $overlay_cores_per_gbps, overlay_vs_wireguard_go: $overlay_vs_wireguard_go,
    aead: $aead, duration_s: $duration_s, ping_rounds: $ping_rounds}' > "$out"
echo "wrote $out"
