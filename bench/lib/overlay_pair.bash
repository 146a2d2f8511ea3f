# bench/lib/overlay_pair.bash, sourced by bench/overlay_ab.sh and
# bench/overlay_hops.sh: two namespace hosts h1, h2 (10.88.0.1/.2 on a bridge
# in namespace ul) and, on them, the same pod three ways:
#   plain veth routing: containers va (10.77.1.2, h1) and vb (10.77.2.2, h2);
#   overlay A: overlayd $A on port 7800, env 1 (TUN rvo-1), containers A1
#     (10.250.1.2, h1) and A2 (10.250.1.3, h2);
#   overlay B: overlayd $B on port 7801, env 2 (TUN rvo-2), containers B1, B2
#     (10.250.2.2 and .3).
# Every namespace is named $P*; the EXIT trap stops the overlayds and removes
# the namespaces. The caller sets P, A, B and optionally A_FLAGS, B_FLAGS
# (extra `overlayd run` flags) before sourcing. Needs root and iproute2.
tmp=$(mktemp -d /tmp/${P}XXXX)
pids=()
[ "$(id -u)" = 0 ] || { echo "$(basename "$0"): needs root" >&2; exit 1; }

cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do  # overlayd tears its TUNs and routes down first
    for i in $(seq 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  for ns in $(ip netns list | awk '{print $1}' | grep "^$P" || true); do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

source "$(dirname "${BASH_SOURCE[0]}")/underlay.bash"
make_underlay $P
# plain veth routing, as in bench/overlay.sh
make_container $P va 1 10.77.1.2 1500
make_container $P vb 2 10.77.2.2 1500
ip -n ${P}h1 route add 10.77.2.0/24 via 10.88.0.2
ip -n ${P}h2 route add 10.77.1.0/24 via 10.88.0.1

# overlay A: env 1, port 7800; overlay B: env 2, port 7801 (own TUNs, tables, containers)
aead=chacha20poly1305
grep -qw aes /proc/cpuinfo && aead=aes256gcm
for v in A B; do
  bin=${!v}
  flags_var=${v}_FLAGS
  e=1 port=7800
  [ $v = B ] && e=2 port=7801
  key=$($bin newkey)
  for h in 1 2; do
    ip netns add ${P}$v$h
    cat > $tmp/$v$h.json <<JSON
{"host_id": $h, "listen": "10.88.0.$h:$port", "underlay_mtu": 1500, "pod_cidr": "10.250.0.0/16",
 "hosts": [{"id": 1, "endpoint": "10.88.0.1:$port"}, {"id": 2, "endpoint": "10.88.0.2:$port"}],
 "envs": [{"id": $e, "subnet": "10.250.$e.0/24", "aead": "$aead",
           "keys": [{"epoch": 1, "key": "$key"}],
           "routes": [{"addr": "10.250.$e.2", "host": 1}, {"addr": "10.250.$e.3", "host": 2}],
           "attachments": [{"addr": "10.250.$e.$((h + 1))", "veth": "rvc-$v$h", "netns": "${P}$v$h"}]}]}
JSON
    ip netns exec ${P}h$h "$bin" run --config $tmp/$v$h.json --socket $tmp/$v$h.sock ${!flags_var:-} \
      >$tmp/$v$h.log 2>&1 &
    pids+=($!)
  done
done
for ns in A1 A2 B1 B2; do
  for i in $(seq 100); do ip -n $P$ns addr show dev eth0 2>/dev/null | grep -q 10.250 && break; sleep 0.05; done
done
