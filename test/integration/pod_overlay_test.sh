#!/usr/bin/env bash
# pod_overlay: `scripts/pod up` puts each host in a network namespace on a
# bridge with an overlayd, and containers of one environment reach each other
# across hosts at their overlay addresses, sealed; `scripts/pod down` leaves
# nothing behind.
#
#   scripts/pod up --hosts 2 (temporary pod dir, random ports)
#   env A: a-1 (h1), a-2 (h2), busybox httpd serving "<marker>-<job id>"
#   env B: b-1 (h1, --constraint role=build)
# Checks: each A container's eth0 carries the address `rv env:addrs` gives it,
# in the pod's overlay range; a-1 fetches a-2's page at a-2's overlay address
# from inside its container (`scripts/pod exec --job`), and back; b-1 on the same
# host as a-1 cannot reach a-2; a tcpdump on the pod's bridge during the
# fetches has UDP :7800 and no plaintext marker; `scripts/pod status` shows the
# overlayds running and the hosts' TUNs. Then `scripts/pod down`: no host
# netns, container netns, bridge, veth, TUN, mount, run dir, cgroup, overlayd
# socket or process (daemons and container apps, by PID) is left.
# Needs root (skips, exit 77, otherwise) and runc, docker-registry, iproute2, nsenter, tcpdump (fails without).
#   pod_overlay_test.sh REPO_ROOT BUILD_DIR
# No pipefail: `cmd | grep -q` would fail when grep exits early and cmd gets SIGPIPE.
set -u
root=$1
export RV_BUILD=$2
. "$root/test/integration/need.bash"
need_root_and pod_overlay docker-registry runc nsenter ip tcpdump iptables
[ -x "$RV_BUILD/overlay/overlayd" ] || { echo "FAIL: pod_overlay: $RV_BUILD/overlay/overlayd is not built" >&2; exit 1; }
dir=$(mktemp -d /tmp/rv-podo.XXXXXX)
. "$root/test/integration/test_ports.bash"
reserve_test_ports || exit 1
pod="$root/scripts/pod"
rv="$RV_BUILD/cli/rv --pod $dir/pod.json"
marker="rvoverlay-$$-$RANDOM$RANDOM"
a=ova$$ b=ovb$$   # unique services: container ids and netns names derive from job ids
td=""
fail() {
  echo "FAIL: $*" >&2
  $rv ps >&2 || true
  $rv env:addrs >&2 || true
  for f in "$dir"/logs/*.log; do [ -e "$f" ] && { echo "--- $(basename "$f")" >&2; tail -n 15 "$f" >&2; }; done
  exit 1
}
cleanup() {
  [ -n "$td" ] && kill "$td" 2>/dev/null
  "$pod" down --dir "$dir" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

"$pod" up --hosts 2 --dir "$dir" --base-port "$port" || fail "pod up"
[ -f "$dir/net.env" ] || fail "pod up did not use the namespace layout (no $dir/net.env)"
key=$(sed -n 's/^key=//p' "$dir/net.env")
subnet=$(sed -n 's/^subnet=//p' "$dir/net.env")
br=rvp${key}b
nss="rvpod-$key-h1 rvpod-$key-h2"
veths="rvp${key}r1 rvp${key}r2"
for ns in $nss; do [ -e "/run/netns/$ns" ] || fail "no netns $ns"; done
ip link show "$br" >/dev/null 2>&1 || fail "no bridge $br"
for v in $veths; do ip link show "$v" | grep -q "master $br" || fail "$v is not a port of $br"; done
$rv hosts | grep -q "^h1 .* up *$subnet.11 " || fail "h1 is not up at $subnet.11"
$rv hosts | grep -q "^h2 .* up *$subnet.12 " || fail "h2 is not up at $subnet.12"

page='mkdir -p /tmp/w && echo "'$marker'-$RV_JOB_ID" >/tmp/w/index.html && exec httpd -f -p 8080 -h /tmp/w'
$rv submit --service "$a" --env "acme/$a" --replicas 2 --ha --image stack/busybox:latest --port 8080 --ram-mb 32 -- \
  /bin/sh -c "$page" >/dev/null || fail "submit $a"
$rv submit --service "$b" --env "acme/$b" --constraint role=build --image stack/busybox:latest --port 8080 --ram-mb 32 -- \
  /bin/sh -c "$page" >/dev/null || fail "submit $b"
ok=0
for _ in $(seq 1 300); do
  [ "$($rv ps | grep -c "^\($a\|$b\)-[12] .*placed .*running (healthy on port 8080)")" = 3 ] && { ok=1; break; }
  sleep 0.2
done
[ $ok = 1 ] || fail "the three containers did not all run healthy"
$rv ps
$rv env:addrs

host_of() { $rv ps | awk -v id="$1" '$1 == id {print $4}'; }
addr_of() { $rv env:addrs | awk -v j="$1" '$6 == j {x = $5} END {print x}'; }
a1=$a-1 a2=$a-2
[ "$(host_of "$a1")" = h1 ] || { a1=$a-2; a2=$a-1; }
[ "$(host_of "$a1")" = h1 ] && [ "$(host_of "$a2")" = h2 ] || fail "$a's replicas are not on h1 and h2"
[ "$(host_of "$b-1")" = h1 ] || fail "$b-1 is not on h1"
ip1=$(addr_of "$a1") ip2=$(addr_of "$a2") ipb=$(addr_of "$b-1")
for x in "$ip1" "$ip2" "$ipb"; do [[ "$x" =~ ^10\.240\.[0-9]+\.[0-9]+$ ]] || fail "overlay address '$x' not in 10.240.0.0/16"; done
[ "${ip1%.*}" = "${ip2%.*}" ] || fail "$a's replicas are in two subnets: $ip1 $ip2"
[ "${ip1%.*}" != "${ipb%.*}" ] || fail "two environments share the subnet ${ip1%.*}.0/24"
# The container's own eth0 carries its overlay address (read from inside it).
for j in "$a1:$ip1" "$a2:$ip2"; do
  "$pod" exec --dir "$dir" --job "${j%%:*}" -- ip -4 addr show dev eth0 2>/dev/null | grep -q "inet ${j#*:}/32" \
    || fail "${j%%:*}'s eth0 does not carry ${j#*:}"
done
for i in 1 2; do
  "$pod" exec --dir "$dir" --host "h$i" -- ip -o link show | grep -q ": rvo-" || fail "no overlay TUN on h$i"
done
status=$("$pod" status --dir "$dir") || fail "pod status"
grep -q "^overlayd-h1: running" <<<"$status" && grep -q "^overlayd-h2: running" <<<"$status" \
  || fail "status does not show both overlayds running: $status"
grep -q "^h2: netns rvpod-$key-h2, $subnet.12, overlay TUNs: rvo-" <<<"$status" || fail "status lacks h2's TUN: $status"

# Capture the bridge while the containers talk.
tcpdump -i "$br" -U -s 0 -w "$dir/bridge.pcap" >/dev/null 2>&1 &
td=$!
sleep 1
# busybox wget: -T segfaults in Debian 12's busybox-static, hence timeout(1).
body=$("$pod" exec --dir "$dir" --job "$a1" -- timeout 10 wget -q -O- "http://$ip2:8080/") \
  || fail "$a1 (h1) cannot fetch $a2 (h2) at $ip2"
[ "$body" = "$marker-$a2" ] || fail "$a1 -> $ip2 answered '$body'"
echo "$a1 on h1 -> $ip2: $body"
body=$("$pod" exec --dir "$dir" --job "$a2" -- timeout 10 wget -q -O- "http://$ip1:8080/") \
  || fail "$a2 (h2) cannot fetch $a1 (h1) at $ip1"
[ "$body" = "$marker-$a1" ] || fail "$a2 -> $ip1 answered '$body'"
echo "$a2 on h2 -> $ip1: $body"
# Another environment on the same host as a1 reaches neither replica.
for x in "$ip2" "$ip1"; do
  "$pod" exec --dir "$dir" --job "$b-1" -- timeout 3 wget -q -O- "http://$x:8080/" >/dev/null 2>&1 \
    && fail "$b-1 (env acme/$b) reached $x (env acme/$a)"
done
sleep 0.5
kill -INT "$td"
wait "$td" 2>/dev/null
td=""
sealed=$(tcpdump -nn -r "$dir/bridge.pcap" "udp port 7800" 2>/dev/null | wc -l)
[ "$sealed" -ge 4 ] || fail "only $sealed UDP :7800 datagrams on the bridge"
grep -qaF -- "$marker" "$dir/bridge.pcap" && fail "plaintext marker on the bridge"
tcpdump -nn -r "$dir/bridge.pcap" "tcp port 8080" 2>/dev/null | grep -q . && fail "plain TCP :8080 on the bridge"
echo "bridge: $sealed sealed UDP :7800 datagrams, no plaintext"

# ---- down leaves nothing ----
pids=""
for f in "$dir"/pids/*.pid "$dir/registry/registry.pid"; do pids+=" $(cat "$f")"; done
# This pod's run dirs only: other pods (a parallel ctest) have their own.
tags="h1-$(printf %s "$dir/hosts/h1" | sha256sum | cut -c1-8) h2-$(printf %s "$dir/hosts/h2" | sha256sum | cut -c1-8)"
for t in $tags; do
  r=/run/rivendell/$t/runc
  [ -d "$r" ] || continue
  pids+=" $(runc --root "$r" list -f json 2>/dev/null | grep -oE '"pid": *[0-9]+' | grep -oE '[0-9]+$' | tr '\n' ' ')"
done
# The edge (rv-edge) runs where haproxy is installed (docs/PROXY.md); its HAProxy master too.
want=10
if [ -f "$dir/pids/edge.pid" ]; then
  pids+=" $(pgrep -P "$(cat "$dir/pids/edge.pid")" -x haproxy | tr '\n' ' ')"
  want=12
fi
[ "$(echo $pids | wc -w)" = $want ] || fail "expected 7 daemons (with the registry), the edge and its haproxy, and 3 container apps, have pids:$pids"
"$pod" down --dir "$dir" || fail "pod down"
for ns in $nss; do [ ! -e "/run/netns/$ns" ] || fail "netns $ns left"; done
ip netns list | grep -qE -- "^rv-($a|$b)-" && fail "container netns left: $(ip netns list | grep -E -- "^rv-($a|$b)-")"
ip link show "$br" >/dev/null 2>&1 && fail "bridge $br left"
for v in $veths; do ip link show "$v" >/dev/null 2>&1 && fail "veth $v left"; done
ip -o link show | grep -q "rvp$key" && fail "an interface rvp$key* left"
for t in $tags; do
  [ ! -e "/run/rivendell/$t" ] || fail "run dir /run/rivendell/$t left"
  ls -d /sys/fs/cgroup/*/rivendell/"$t" >/dev/null 2>&1 && fail "cgroup rivendell/$t left"
done
mount | grep -qF "$dir" && fail "mounts under $dir left: $(mount | grep -F "$dir")"
ls "$dir"/hosts/h*/overlayd.sock >/dev/null 2>&1 && fail "overlayd socket left"
for p in $pids; do kill -0 "$p" 2>/dev/null && fail "process $p ($(tr '\0' ' ' </proc/$p/cmdline)) left"; done
[ ! -e "$dir/net.env" ] || fail "net.env left"
# The TUNs (rvo-*) lived in the host namespaces checked gone above.
echo "PASS: pod_overlay"
