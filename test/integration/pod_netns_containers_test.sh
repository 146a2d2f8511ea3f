#!/usr/bin/env bash
# pod_netns_containers: a three-host pod whose hosts are network namespaces
# joined by a bridge, running a 3-replica HA image service end to end.
#
#   root netns: bridge B (10.79.N.1/24) with sauron, elrond and the registry
#               listening on 10.79.N.1 (the registry with --addr)
#   netns h1..h3: eth end of a veth whose other end is a port of B,
#               10.79.N.(10+i); one strider each (nsenter --net: same mount
#               namespace, so overlayfs, cgroups and runc work as on a host)
#
# `rv submit --replicas 3 --ha --image stack/busybox:latest --port 8080` is
# auctioned, each replica is pulled from the registry over the bridge and
# started on its own host; each answers with its own job id on its port from
# inside its host's netns (over that host's container veth); `rv ps` shows the
# three hosts; a fourth host without a container runtime (h4, --no-containers)
# declines image jobs at bid time, so none lands there. A job whose health check fails while its process lives shows
# `unhealthy` in `rv ps`, then `running` again. Every process, mount, netns, bridge and cgroup the test creates
# is removed on any exit. Needs root; skips otherwise.
#   pod_netns_containers_test.sh REPO_ROOT BUILD_DIR
set -uo pipefail
root=$1
build=$2
. "$root/test/integration/need.bash"
need_root_and pod_netns_containers docker-registry runc nsenter ip curl
dir=$(mktemp -d /tmp/rv-podn.XXXXXX)
t=$$
n=$(( t % 250 ))
net=10.79.$n
br=secbr$t
svc=web$t
. "$root/test/integration/test_ports.bash"
reserve_test_ports || exit 1
reg_port=$((port + 20))
rv="$build/cli/rv --pod $dir/pod.json"
mkdir -p "$dir/keys" "$dir/logs" "$dir/pids"
pids=()
nss=()

log_tail() {
  for f in "$dir"/logs/*.log; do
    [ -e "$f" ] || continue
    echo "--- $(basename "$f")" >&2
    tail -n 15 "$f" >&2
  done
}
fail() {
  echo "FAIL: $*" >&2
  $rv ps >&2 || true
  log_tail
  exit 1
}
cleanup() {
  # Striders first (they stop their containers), then the control plane.
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for _ in $(seq 1 100); do
    local left=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && left=1; done
    [ $left = 0 ] && break
    sleep 0.1
  done
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  "$root/scripts/registry" stop --dir "$dir/registry" >/dev/null 2>&1 || true
  # Debris of a strider that did not stop cleanly: its containers' netns,
  # mounts, tmpfs run dir, cgroups.
  local i ns tag
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E -- "^rv-($svc|flaky$t|four$t)-" || true); do ip netns delete "$ns" 2>/dev/null; done
  for i in 1 2 3 4; do
    tag=h$i-$(printf %s "$dir/hosts/h$i" | sha256sum | cut -c1-8)
    if mountpoint -q "/run/rivendell/$tag" 2>/dev/null; then umount -l "/run/rivendell/$tag" 2>/dev/null; fi
    rmdir "/run/rivendell/$tag" 2>/dev/null || true
    for cg in /sys/fs/cgroup/*/rivendell/"$tag"; do
      [ -d "$cg" ] && find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
  done
  mount | awk -v d="$dir" 'index($3, d) == 1 {print $3}' | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  for ns in "${nss[@]}"; do ip netns delete "$ns" 2>/dev/null || true; done
  ip link delete "$br" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---- network: a bridge and three host namespaces ----
ip link add "$br" type bridge || fail "ip link add bridge"
ip addr add "$net.1/24" dev "$br" || fail "address the bridge"
ip link set "$br" up || fail "bridge up"
for i in 1 2 3; do
  ns=sec$t-h$i
  nss+=("$ns")
  ip netns add "$ns" || fail "ip netns add $ns"
  ip link add "sec${t}r$i" type veth peer name "sec${t}n$i" || fail "veth $i"
  ip link set "sec${t}r$i" master "$br" up || fail "veth $i into the bridge"
  ip link set "sec${t}n$i" netns "$ns" || fail "veth $i into $ns"
  ip -n "$ns" link set "sec${t}n$i" name eth0 || fail "rename in $ns"
  ip -n "$ns" addr add "$net.$((10 + i))/24" dev eth0 || fail "address $ns"
  ip -n "$ns" link set eth0 up || fail "eth0 up in $ns"
  ip -n "$ns" link set lo up || fail "lo up in $ns"
done

# ---- the pod: keys, config, registry with the stack image, daemons ----
for k in sauron elrond admin h1 h2 h3 h4; do "$build/cli/rv" keygen "$dir/keys/$k.key" >/dev/null || fail "keygen $k"; done
cat >"$dir/pod.json" <<JSON
{
  "sauron": {"api": "tcp://$net.1:$port", "pub": "tcp://$net.1:$((port + 1))",
             "heartbeat_ms": 500, "zmtp_heartbeat_ms": 200, "lost_after_ms": 3000},
  "elrond": {"endpoint": "tcp://$net.1:$((port + 10))"},
  "hosts": [
    {"id": "h1", "labels": {"zone": "a", "role": "app"}},
    {"id": "h2", "labels": {"zone": "b", "role": "app"}},
    {"id": "h3", "labels": {"zone": "c", "role": "app"}},
    {"id": "h4", "labels": {"zone": "a", "role": "app"}}
  ]
}
JSON
"$root/scripts/registry" start --dir "$dir/registry" --port "$reg_port" --addr "$net.1" >/dev/null \
  || fail "registry on $net.1:$reg_port"
RV_IMAGE="$build/common/oci/rv-image" "$root/scripts/stack-image" --registry "$net.1:$reg_port" \
  >>"$dir/logs/stack-image.log" 2>&1 || fail "stack image push"
# The registry is reachable from each host namespace over the bridge.
for i in 1 2 3; do
  ok=0
  for _ in $(seq 1 30); do
    nsenter "--net=/run/netns/sec$t-h$i" curl -sf -m 2 "http://$net.1:$reg_port/v2/" >/dev/null && { ok=1; break; }
    sleep 0.2
  done
  [ $ok = 1 ] || fail "registry $net.1:$reg_port not reachable from h$i"
done

start() {  # start NAME CMD...
  local name=$1
  shift
  setsid "$@" >>"$dir/logs/$name.log" 2>&1 </dev/null &
  pids+=($!)
  echo $! >"$dir/pids/$name.pid"
}
start sauron "$build/sauron/sauron" --pod "$dir/pod.json"
start elrond "$build/elrond/elrond" --pod "$dir/pod.json"
for i in 1 2 3; do
  start "strider-h$i" nsenter "--net=/run/netns/sec$t-h$i" -- "$build/strider/strider" --pod "$dir/pod.json" \
    --host-id "h$i" --key "$dir/keys/h$i.key" --data-dir "$dir/hosts/h$i" --address "$net.$((10 + i))" \
    --registry "$net.1:$reg_port" --veth-pool "10.$((100 + i))" --stop-grace-ms 2000
done
# h4: a host without a container runtime (root netns, --no-containers). It
# must decline image jobs when it bids, so they land on h1..h3.
start strider-h4 "$build/strider/strider" --pod "$dir/pod.json" --host-id h4 --key "$dir/keys/h4.key" \
  --data-dir "$dir/hosts/h4" --address "$net.1" --no-containers
up=0
for _ in $(seq 1 150); do
  up=$($rv --timeout-ms 1000 hosts 2>/dev/null | awk 'NR > 1 && $2 == "up"' | wc -l) || up=0
  [ "$up" -ge 4 ] && break
  sleep 0.2
done
[ "$up" = 4 ] || fail "$up of 4 hosts up"
$rv hosts
for i in 1 2 3; do
  $rv hosts | grep -q "^h$i .* up *$net.$((10 + i)) " || fail "h$i is not up at $net.$((10 + i))"
done

# ---- a 3-replica HA image service ----
t0=$(date +%s%N)
$rv submit --service "$svc" --replicas 3 --ha --image stack/busybox:latest --port 8080 --ram-mb 32 -- \
  /bin/sh -c 'mkdir -p /tmp/w && echo "$RV_JOB_ID" >/tmp/w/index.html && exec httpd -f -p 8080 -h /tmp/w' \
  >/dev/null || fail "submit"
ok=0
for _ in $(seq 1 300); do
  [ "$($rv ps | grep -c "^$svc-[123] .*placed .*running (healthy on port 8080)")" = 3 ] && { ok=1; break; }
  sleep 0.2
done
[ $ok = 1 ] || fail "the 3 replicas did not all run healthy"
echo "3 replicas running healthy $(( ($(date +%s%N) - t0) / 1000000 )) ms after submit"
$rv ps
hosts_used=$($rv ps | awk -v s="^$svc-" '$1 ~ s {print $4}' | sort -u | tr '\n' ' ')
[ "$hosts_used" = "h1 h2 h3 " ] || fail "replicas are not on the three container hosts: '$hosts_used'"

# A fourth HA replica has nowhere to go: h4 declines it at bid time (no
# container runtime) instead of failing it after an award.
$rv submit --service "four$t" --replicas 4 --ha --image stack/busybox:latest --port 8080 --ram-mb 16 -- \
  /bin/sh -c 'mkdir -p /tmp/w && exec httpd -f -p 8080 -h /tmp/w' >/dev/null || fail "submit four"
ok=0
for _ in $(seq 1 150); do
  if [ "$($rv ps | grep -c "^four$t-[1234] .*placed .*running (healthy")" = 3 ] \
     && $rv ps | grep "^four$t-[1234] .*pending" | grep -q "no container runtime"; then ok=1; break; fi
  sleep 0.2
done
[ $ok = 1 ] || fail "four$t: want 3 running and 1 pending because h4 has no container runtime"
$rv ps | grep "^four$t-.*pending"
$rv ps | awk -v s="^four$t-" '$1 ~ s && $4 == "h4"' | grep -q . && fail "an image job was placed on h4"
$rv events --limit 1000 | grep "job.placed" | grep -q "host=h4" && fail "an image job was ever placed on h4"
$rv stop "four$t-1" "four$t-2" "four$t-3" "four$t-4" >/dev/null || fail "stop four"

# Each replica answers on its port from inside its host's netns, over that
# host's container veth (h_i's pool is 10.(100+i).0.0/16; first container .0.2).
for j in 1 2 3; do
  h=$($rv ps | awk -v id="$svc-$j" '$1 == id {print $4}')
  i=${h#h}
  body=$(nsenter "--net=/run/netns/sec$t-$h" curl -s -m 5 "http://10.$((100 + i)).0.2:8080/index.html") \
    || fail "$svc-$j on $h: no HTTP answer from inside $h"
  [ "$body" = "$svc-$j" ] || fail "$svc-$j on $h answered '$body'"
  echo "$svc-$j answers on $h: $body"
  # Pulled over the bridge into that host's own image cache.
  ls "$dir/hosts/$h/container/images/blobs/sha256/" | grep -q . || fail "$h has no blobs in its cache"
done
# The other hosts do not see a host's containers (their own veth pools only).
nsenter "--net=/run/netns/sec$t-h1" curl -s -m 2 "http://10.102.0.2:8080/" >/dev/null 2>&1 \
  && fail "h1 reaches a container of h2"

# ---- health: a failing check while the process lives is `unhealthy` in rv ps ----
# PID 1 (a shell) stays up; the httpd it runs is up 3 s, down 5 s (3 failed
# probes at the default 1 s interval make it unhealthy).
$rv submit --service "flaky$t" --image stack/busybox:latest --port 8080 --ram-mb 32 -- \
  /bin/sh -c 'mkdir -p /tmp/w; while true; do httpd -f -p 8080 -h /tmp/w & p=$!; sleep 3; kill $p; wait $p; sleep 5; done' \
  >/dev/null || fail "submit flaky"
seen=""
for _ in $(seq 1 150); do
  line=$($rv ps | grep "^flaky$t-1 ")
  case "$line" in
    *"running (healthy on port 8080)"*) [ -z "$seen" ] && seen=running; [ "$seen" = running,unhealthy ] && seen=running,unhealthy,running ;;
    *" unhealthy ("*) [ "$seen" = running ] && seen=running,unhealthy ;;
  esac
  [ "$seen" = running,unhealthy,running ] && break
  sleep 0.2
done
[ "$seen" = running,unhealthy,running ] || fail "flaky$t-1 went only '$seen' (want running,unhealthy,running)"
echo "flaky$t-1: running -> unhealthy -> running, as shown by rv ps"
$rv events --limit 200 | grep "job=flaky$t-1" | grep -q "unhealthy" || fail "no unhealthy event for flaky$t-1"

# ---- stop: containers go, nothing is left ----
$rv stop "$svc-1" "$svc-2" "$svc-3" "flaky$t-1" >/dev/null || fail "stop"
ok=0
for _ in $(seq 1 100); do
  [ "$(ip netns list | grep -cE -- "^rv-($svc|flaky$t|four$t)-")" = 0 ] && { ok=1; break; }
  sleep 0.2
done
[ $ok = 1 ] || fail "container netns left after stop: $(ip netns list | grep -- "^rv-$svc-" | tr '\n' ' ')"
! mount | grep -q "$dir/hosts/.*/rootfs" || fail "overlay mounts left after stop"
echo "PASS: pod_netns_containers"
