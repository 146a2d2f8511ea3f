#!/usr/bin/env bash
# pod_sceptre: containers survive a strider restart and come back after a
# host's reboot; nothing runs twice (docs/SCEPTRE.md).
#
# Two namespace hosts (scripts/pod up, real registry, busybox stack, overlay),
# sauron's agent grace 8 s (RV_POD_AGENT_GRACE_MS) so a reboot fits in it.
# N (default 20) containers of 2 environments on h1 (--constraint zone=a),
# and service C (2 replicas, placed on h1 while h2 is drained). Faults, one by one:
#  1. strider kill -9 + restart, twice (RV_SCEPTRE_RESTARTS): zero container
#     restarts (every app pid the same), every container healthy again, not
#     one failed request between two containers over the overlay while the
#     strider is down and while the new one adopts, and h1's network exactly
#     as it was (overlay veths and their ifindexes, rules, routes, gateway
#     chains: nothing re-plumbed; `ip monitor` of h1 is printed otherwise).
#  1b. an upgrade (SIGUSR2: the strider exits leaving its containers) and a
#     restart: all adopted, zero restarts, h1's network unchanged.
#  2. a corrupt journal entry + strider kill -9: reported (sceptre's report)
#     and set aside, the strider runs, every job running again (the one whose
#     entry was corrupt is not adopted: replaced through sauron's welcome).
#  3. simulated reboot (scripts/pod crash-host: kill -9 of h1's strider,
#     overlayd and containers, tmpfs run dir unmounted, debris left) + a
#     missing image blob + a half-pulled blob + an unfinished journal write:
#     `sceptre recover` cleans them (its report says so), the strider starts
#     every journal container again; all N+2 back, each answering at its
#     overlay address, none duplicated across the pod.
#  4. h1 down longer than the agent grace: its jobs are re-placed (C moves to
#     h2); when h1 comes back, C's journal entries are fenced (not restarted
#     there), C runs once, on h2 only.
# Needs root (runc, overlayfs, netns); skips otherwise. RV_SCEPTRE_N overrides N.
# KEEP_POD_DIR=DIR keeps the pod's logs (and the probe's) in DIR.
#   pod_sceptre_test.sh REPO_ROOT BUILD_DIR
set -uo pipefail
root=$1
export RV_BUILD=$2
if [ "$(id -u)" != 0 ] || [ ! -x /usr/bin/docker-registry ] || [ ! -x /usr/sbin/runc ]; then
  echo "SKIPPED: pod_sceptre needs root, docker-registry and runc" >&2
  exit 77
fi
N=${RV_SCEPTRE_N:-20}
half=$((N / 2))
dir=$(mktemp -d /tmp/rv-pods.XXXXXX)
. "$root/test/integration/test_ports.bash"
reserve_test_ports || exit 1
rv="$RV_BUILD/cli/rv --pod $dir/pod.json"
svc=sc$$  # unique: container ids (and netns names) derive from job ids
envs="t$$/a t$$/b"
tag1=h1-$(printf %s "$dir/hosts/h1" | sha256sum | cut -c1-8)
tag2=h2-$(printf %s "$dir/hosts/h2" | sha256sum | cut -c1-8)
runc1="/usr/sbin/runc --root /run/rivendell/$tag1/runc"
fail() {
  echo "FAIL: $*" >&2
  $rv ps >&2 || true
  local f
  for f in strider-h1:60 sceptre-h1:20 overlayd-h1:20 sauron:20; do
    [ -s "$dir/logs/${f%:*}.log" ] && { echo "---- tail of ${f%:*}.log" >&2; tail -n "${f#*:}" "$dir/logs/${f%:*}.log" >&2; }
  done
  exit 1
}
cleanup() {
  [ -n "${probe_pid:-}" ] && kill "$probe_pid" 2>/dev/null
  [ -n "${mon_pid:-}" ] && kill "$mon_pid" 2>/dev/null
  "$root/scripts/pod" down --dir "$dir" >/dev/null 2>&1 || true
  local ns cg tag
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -- "^rv-$svc" || true); do ip netns delete "$ns"; done
  mount | awk -v d="$dir" 'index($3, d) == 1 {print $3}' | sort -r | while read -r m; do umount -l "$m"; done
  for tag in "$tag1" "$tag2"; do
    if mountpoint -q "/run/rivendell/$tag" 2>/dev/null; then umount -l "/run/rivendell/$tag"; fi
    rmdir "/run/rivendell/$tag" 2>/dev/null
    for cg in /sys/fs/cgroup/*/rivendell/"$tag"; do
      [ -d "$cg" ] && find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
  done
  [ -n "${KEEP_POD_DIR:-}" ] && { mkdir -p "$KEEP_POD_DIR"; cp -r "$dir/logs" "$dir"/probe* "$KEEP_POD_DIR/" 2>/dev/null; }
  rm -rf "$dir"
}
trap cleanup EXIT

cid() {  # rv::container::ContainerIdFor
  local clean
  clean=$(printf %s "$1" | head -c 40 | LC_ALL=C tr 'A-Z' 'a-z' | LC_ALL=C tr -c 'a-z0-9._-' '_')
  echo "rv-$clean-$(printf %s "$1" | sha256sum | cut -c1-8)"
}
all_jobs() {
  local i
  for i in $(seq 1 "$half"); do echo "$svc-a-$i"; done
  for i in $(seq 1 $((N - half))); do echo "$svc-b-$i"; done
}
healthy_on() {  # healthy_on HOST: how many of our jobs run healthy there
  $rv ps 2>/dev/null | awk -v h="$1" -v s="$svc-" 'index($1, s) == 1 && $3 == "placed" && $4 == h' | grep -c "running (.*healthy" || true
}
wait_healthy() {  # wait_healthy HOST COUNT SECONDS
  local n=0
  for _ in $(seq 1 $(($3 * 5))); do
    n=$(healthy_on "$1")
    [ "$n" -ge "$2" ] && return 0
    sleep 0.2
  done
  echo "only $n of $2 healthy on $1" >&2
  return 1
}
wait_copies() {  # wait_copies SECONDS JOB...: each runs (runc state running) on exactly one host
  local secs=$1 j ok
  shift
  for _ in $(seq 1 $((secs * 5))); do
    ok=1
    for j in "$@"; do [ "$(copies "$j")" = 1 ] || { ok=0; break; }; done
    [ $ok = 1 ] && return 0
    sleep 0.2
  done
  return 1
}
app_pids() {  # job=pid for every job of ours on h1
  local j
  for j in $(all_jobs); do echo "$j=$(cat "/run/rivendell/$tag1/bundles/$(cid "$j")/pid" 2>/dev/null)"; done
}
addr_of() { $rv env:addrs "$1" 2>/dev/null | awk -v j="$2" '$6 == j {print $5}'; }
fetch() {  # fetch FROM_JOB ADDR: GET / from inside FROM_JOB's container
  $runc1 exec "$(cid "$1")" timeout 3 wget -q -O- "http://$2:8080/" 2>/dev/null
}
# one copy of each job across the pod: runc state on exactly one host
copies() {
  local n=0 t
  for t in "$tag1" "$tag2"; do
    [ -d "/run/rivendell/$t/runc/$(cid "$1")" ] && /usr/sbin/runc --root "/run/rivendell/$t/runc" state "$(cid "$1")" 2>/dev/null | grep -q '"running"' && n=$((n + 1))
  done
  echo $n
}

# h1's network as the overlay plumbed it: overlay veths with their ifindexes
# (a re-made pair gets new ones), ip rules, IPv4 routes of every table, the
# gateway chains (iptables-save without counters).
net_state() {
  ip -n "$hns" -o link show | awk '$2 ~ /^ov/ {print "link", $1, $2}'
  ip -n "$hns" rule | sed 's/^/rule /'
  ip -n "$hns" -4 route show table all | sed 's/^/route /'
  ip netns exec "$hns" iptables-save | grep -E '^-A (INPUT|rvgw-)|^:rvgw-' | sed 's/ \[[0-9]*:[0-9]*\]$//; s/^/iptables /'
}
probe_count() { cat "$dir/probe" 2>/dev/null || echo "0 0"; }
# wait_probes N SECONDS: the probe made N more requests (ok or not) from now
wait_probes() {
  local ok bad from
  read -r ok bad < <(probe_count); from=$((ok + bad))
  for _ in $(seq 1 $(($2 * 10))); do
    read -r ok bad < <(probe_count)
    [ $((ok + bad)) -ge $((from + $1)) ] && return 0
    sleep 0.1
  done
  return 1
}

RV_POD_AGENT_GRACE_MS=8000 "$root/scripts/pod" up --hosts 2 --dir "$dir" --base-port "$port" || fail "pod up"
app='mkdir -p /tmp/w && echo "$RV_JOB_ID" >/tmp/w/index.html && exec httpd -f -p 8080 -h /tmp/w'
$rv submit --service "$svc-a" --env "t$$/a" --replicas "$half" --constraint zone=a --ram-mb 16 --cpu-millis 50 --disk-mb 10 \
  --image stack/busybox:latest --port 8080 --restart always -- /bin/sh -c "$app" >/dev/null || fail "submit a"
$rv submit --service "$svc-b" --env "t$$/b" --replicas $((N - half)) --constraint zone=a --ram-mb 16 --cpu-millis 50 --disk-mb 10 \
  --image stack/busybox:latest --port 8080 --restart always -- /bin/sh -c "$app" >/dev/null || fail "submit b"
$rv hosts drain h2 >/dev/null || fail "drain h2"
$rv submit --service "$svc-c" --env "t$$/a" --replicas 2 --ram-mb 16 --cpu-millis 50 --disk-mb 10 \
  --image stack/busybox:latest --port 8080 --restart always -- /bin/sh -c "$app" >/dev/null || fail "submit c"
t0=$(date +%s.%N)
wait_healthy h1 $((N + 2)) 180 || fail "$((N + 2)) containers never ran healthy on h1"
echo "measure: $((N + 2)) containers healthy on h1 $(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN {printf "%.2f", a - b}') s after submit"
$rv hosts drain h2 --undo >/dev/null || fail "undrain h2"

# ---- 1. strider kill -9 and restart: nothing restarts, nothing fails ----
hns=$(ip netns identify "$(cat "$dir/pids/overlayd-h1.pid")")
[ -n "$hns" ] || fail "cannot find h1's network namespace"
a2=$(addr_of "t$$/a" "$svc-a-2")
[ -n "$a2" ] || fail "no overlay address for $svc-a-2"
for try in 1 2 3; do  # a loaded machine may time a single wget out
  fetch "$svc-a-1" "$a2" | grep -q "$svc-a-2" && break
  [ "$try" = 3 ] && fail "$svc-a-1 cannot reach $svc-a-2 at $a2 before the restart (3 tries)"
  sleep 0.5
done
for round in $(seq 1 "${RV_SCEPTRE_RESTARTS:-2}"); do
  before=$(app_pids)
  grep -q '=$' <<<"$before" && fail "a container has no pid file: $before"
  net_before=$(net_state)
  [ "$(grep -c '^link ' <<<"$net_before")" -ge $((N + 2)) ] || fail "fewer than $((N + 2)) overlay veths on h1: $net_before"
  rm -f "$dir/probe" "$dir/probe.err"
  ip -ts -n "$hns" monitor link address route rule >"$dir/logs/netmon-h1.$round.log" 2>&1 &
  mon_pid=$!
  ( ok=0 bad=0; while :; do
      out=$($runc1 exec "$(cid "$svc-a-1")" timeout 3 wget -q -O- "http://$a2:8080/" 2>&1)
      if grep -q "$svc-a-2" <<<"$out"; then ok=$((ok + 1)); else bad=$((bad + 1)); echo "$(date +%T.%N) $out" >>"$dir/probe.err"; fi
      echo "$ok $bad" >"$dir/probe.tmp" && mv "$dir/probe.tmp" "$dir/probe"; sleep 0.1; done ) &
  probe_pid=$!
  wait_probes 2 30 || fail "the probe $svc-a-1 -> $svc-a-2 made no requests"
  spid=$(cat "$dir/pids/strider-h1.pid")
  adopted=$(grep -c "live restore: adopted" "$dir/logs/strider-h1.log")
  kill -KILL "$spid"
  t0=$(date +%s.%N)
  echo "restart $round: strider killed at $(date +%T.%N)"
  for _ in $(seq 1 100); do kill -0 "$spid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$spid" 2>/dev/null && fail "the strider outlived kill -9 by 10 s"
  # Down until sauron noticed (host.agent_gone) and a few requests went
  # through meanwhile: they must keep working without a strider.
  for _ in $(seq 1 100); do
    [ "$($rv events --limit 100000 2>/dev/null | grep -c "host.agent_gone")" -ge "$round" ] && break
    sleep 0.1
  done
  [ "$($rv events --limit 100000 2>/dev/null | grep -c "host.agent_gone")" -ge "$round" ] || fail "sauron published no host.agent_gone for h1"
  wait_probes 3 30 || fail "the probe made no requests while the strider was down"
  "$root/scripts/pod" restart-host --dir "$dir" --host h1 --agent-only || fail "restart-host"
  for _ in $(seq 1 300); do
    [ "$(grep -c "live restore: adopted" "$dir/logs/strider-h1.log")" -gt "$adopted" ] && break
    sleep 0.1
  done
  grep "live restore: adopted" "$dir/logs/strider-h1.log" | tail -n1
  [ "$(grep -c "live restore: adopted $((N + 2)) running" "$dir/logs/strider-h1.log")" -gt "$adopted" ] \
    || fail "not every container was adopted (restart $round)"
  wait_healthy h1 $((N + 2)) 60 || fail "not every container healthy after the strider restart (restart $round)"
  echo "measure: strider kill -9 -> all $((N + 2)) healthy again: $(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN {printf "%.2f", a - b}') s"
  # The new strider's first overlay document went to overlayd (an adopted
  # container whose veth name changed is re-plumbed by that apply), and
  # requests went on after it.
  applied=0
  for _ in $(seq 1 300); do
    sed -n "/live restore: adopted/h; /live restore: adopted/!H; \${x;p}" "$dir/logs/strider-h1.log" | grep -q "overlay: applied view" \
      && { applied=1; break; }
    sleep 0.1
  done
  [ $applied = 1 ] || fail "the restarted strider's overlay driver applied nothing to overlayd within 30 s"
  wait_probes 5 30 || fail "the probe stopped making requests after the strider restart"
  kill "$probe_pid" 2>/dev/null; wait "$probe_pid" 2>/dev/null; probe_pid=""
  kill "$mon_pid" 2>/dev/null; wait "$mon_pid" 2>/dev/null; mon_pid=""
  read -r ok bad < <(probe_count)
  echo "measure: requests $svc-a-1 -> $svc-a-2 during strider restart $round: $ok ok, $bad failed"
  net_after=$(net_state)
  if [ "$bad" != 0 ] || [ "$net_before" != "$net_after" ]; then
    echo "---- failed requests:" >&2; cat "$dir/probe.err" >&2 2>/dev/null
    echo "---- h1's network, before vs after the restart:" >&2; diff <(echo "$net_before") <(echo "$net_after") | head -n 40 >&2
    echo "---- ip monitor of h1 during the restart (IPv4, links):" >&2
    grep -v 'inet6\|fe80\|ff00::\|valid_lft\|link/ether' "$dir/logs/netmon-h1.$round.log" | head -n 60 >&2
    [ "$bad" != 0 ] && fail "$bad of $((ok + bad)) requests $svc-a-1 -> $svc-a-2 failed across strider restart $round"
    fail "h1's overlay plumbing changed across strider restart $round (an adopted container was re-plumbed)"
  fi
  [ "$ok" -ge 10 ] || fail "too few requests across strider restart $round ($ok)"
  after=$(app_pids)
  [ "$before" = "$after" ] || fail "container pids changed across the strider restart: $(diff <(echo "$before") <(echo "$after") | head)"
  echo "measure: container restarts across strider restart $round: 0 (all $N app pids unchanged), network unchanged"
done
grep -q "starting $svc-a-1 attempt" <(sed -n "/live restore: adopted/,\$p" "$dir/logs/strider-h1.log") && fail "a job was started again"

# ---- 1b. an upgrade: SIGUSR2 exits leaving the containers running ----
before=$(app_pids)
net_before=$(net_state)
spid=$(cat "$dir/pids/strider-h1.pid")
kill -USR2 "$spid"
for _ in $(seq 1 300); do kill -0 "$spid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$spid" 2>/dev/null && fail "the strider did not exit within 30 s of SIGUSR2"
grep -q "exiting for an upgrade: $((N + 2)) jobs keep running" "$dir/logs/strider-h1.log" || fail "no upgrade exit"
adopted_all=$(grep -c "live restore: adopted $((N + 2)) running" "$dir/logs/strider-h1.log")
"$root/scripts/pod" restart-host --dir "$dir" --host h1 --agent-only || fail "restart-host"
for _ in $(seq 1 300); do [ "$(grep -c "live restore: adopted $((N + 2)) running" "$dir/logs/strider-h1.log")" -gt "$adopted_all" ] && break; sleep 0.1; done
[ "$(grep -c "live restore: adopted $((N + 2)) running" "$dir/logs/strider-h1.log")" -gt "$adopted_all" ] || fail "not every container was adopted after the upgrade"
[ "$before" = "$(app_pids)" ] || fail "container pids changed across the upgrade"
wait_healthy h1 $((N + 2)) 60 || fail "not every container healthy after the upgrade"
[ "$net_before" = "$(net_state)" ] || fail "h1's overlay plumbing changed across the upgrade: $(diff <(echo "$net_before") <(net_state) | head -n 20)"
echo "upgrade (SIGUSR2 + restart): all $((N + 2)) adopted, 0 restarts, network unchanged"

# ---- 2. a corrupt journal entry ----
entry=$(ls "$dir/hosts/h1/journal/"*.entry | head -n1)
cjob=""  # its job: the entry's name starts with the container id's hash
for j in $(all_jobs) "$svc-c-1" "$svc-c-2"; do
  [ "$(cid "$j" | sed 's/.*-//')" = "$(basename "$entry" | cut -c1-8)" ] && cjob=$j
done
[ -n "$cjob" ] || fail "no job of ours has the journal entry $(basename "$entry")"
cpid=$(cat "/run/rivendell/$tag1/bundles/$(cid "$cjob")/pid" 2>/dev/null)
welcomed=$(grep -c "welcomed by sauron" "$dir/logs/strider-h1.log")
printf 'garbage' >>"$entry"
spid=$(cat "$dir/pids/strider-h1.pid")
kill -KILL "$spid"
for _ in $(seq 1 100); do kill -0 "$spid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$spid" 2>/dev/null && fail "the strider outlived kill -9 by 10 s"
"$root/scripts/pod" restart-host --dir "$dir" --host h1 --agent-only || fail "restart-host"
for _ in $(seq 1 300); do grep -q "corrupt entry set aside" "$dir/logs/strider-h1.log" && break; sleep 0.1; done
grep -q "corrupt entry set aside: $(basename "$entry")" "$dir/logs/strider-h1.log" || fail "the corrupt entry was not reported"
[ -e "$entry.corrupt" ] || fail "the corrupt entry was not set aside"
# sauron's state says healthy until the new strider reports: wait for its
# welcome, then for the job to run again in a new container, journaled afresh.
for _ in $(seq 1 300); do [ "$(grep -c "welcomed by sauron" "$dir/logs/strider-h1.log")" -gt "$welcomed" ] && break; sleep 0.1; done
[ "$(grep -c "welcomed by sauron" "$dir/logs/strider-h1.log")" -gt "$welcomed" ] || fail "the restarted strider was not welcomed by sauron"
for _ in $(seq 1 450); do
  npid=$(cat "/run/rivendell/$tag1/bundles/$(cid "$cjob")/pid" 2>/dev/null)
  [ -n "$npid" ] && [ "$npid" != "$cpid" ] && [ "$(copies "$cjob")" = 1 ] && [ -e "$entry" ] && break
  sleep 0.2
done
[ -n "$npid" ] && [ "$npid" != "$cpid" ] || fail "$cjob (corrupt journal entry) was not started again (pid $cpid, now '$npid')"
[ "$(copies "$cjob")" = 1 ] || fail "$cjob runs $(copies "$cjob") times after its corrupt journal entry"
[ -e "$entry" ] || fail "$cjob was not journaled again after its corrupt entry"
wait_healthy h1 $((N + 2)) 90 || fail "not every container healthy after a corrupt journal entry"
kill -0 "$(cat "$dir/pids/strider-h1.pid")" || fail "the strider died on a corrupt journal"
echo "corrupt journal: reported, set aside, all $((N + 2)) running ($cjob, whose entry was corrupt, replaced through sauron's welcome: pid $cpid -> $npid, journaled again)"

# ---- 3. simulated reboot, with image store and journal debris ----
"$root/scripts/pod" crash-host --dir "$dir" --host h1 || fail "crash-host"
[ -d "/run/rivendell/$tag1/runc" ] && fail "the run dir survived the crash"
grep -qF "$dir/hosts/h1/container/containers/" /proc/mounts || fail "expected overlay mounts as debris"  # no pipe: pipefail and an early grep exit
store="$dir/hosts/h1/container/images"
layer=$(ls -S "$store/blobs/sha256" | head -n1)  # the biggest blob: a layer
rm -f "$store/blobs/sha256/$layer"
mkdir -p "$store/tmp" && head -c 1000 /dev/urandom >"$store/tmp/deadbeef.1234.1"
printf 'rvjournal 1 ' >"$dir/hosts/h1/journal/cut.entry.tmp"
t0=$(date +%s.%N)
"$root/scripts/pod" restart-host --dir "$dir" --host h1 || fail "restart-host after the crash"
"$RV_BUILD/sceptre/sceptre" status --data-dir "$dir/hosts/h1" | head -n 3
report="$dir/hosts/h1/sceptre/last-boot.json"
grep -q '"unmount"' "$report" || fail "sceptre did not unmount the overlay debris"
grep -q '"delete-netns"' "$report" || fail "sceptre did not delete the netns debris"
grep -q "layers/$layer" "$report" || fail "sceptre did not drop the layer whose blob was missing"
grep -q 'deadbeef.1234.1' "$report" || fail "sceptre did not remove the half-pulled blob"
grep -q 'cut.entry.tmp' "$report" || fail "sceptre did not remove the unfinished journal write"
grep -q '"sent_to_sauron": "yes"' "$report" || fail "the report did not reach sauron"
wait_copies 180 $(all_jobs) "$svc-c-1" "$svc-c-2" || fail "not every container came back after the reboot"
# and reported healthy by the new strider (sauron's state still shows the old
# strider's reports: the restart came within the agent grace)
reported() { grep -c "running adopted\|running healthy on port" <(sed -n '/live restore: adopted 0/,$p' "$dir/logs/strider-h1.log"); }
for _ in $(seq 1 300); do
  [ "$(reported)" -ge $((N + 2)) ] && break
  sleep 0.2
done
[ "$(reported)" -ge $((N + 2)) ] || fail "the restarted strider reported only $(reported) of $((N + 2)) jobs running after the reboot"
wait_healthy h1 $((N + 2)) 60 || fail "not every container healthy after the reboot"
echo "measure: reboot (crash-host) -> sceptre recover + all $((N + 2)) healthy: $(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN {printf "%.2f", a - b}') s"
$rv events --limit 100000 2>/dev/null | grep -q "host.recovered" || fail "no host.recovered in sauron's event log"
for j in $(all_jobs) "$svc-c-1" "$svc-c-2"; do
  [ "$(copies "$j")" = 1 ] || fail "$j runs $(copies "$j") times across the pod"
done
for e in a b; do
  first=$(all_jobs | grep "^$svc-$e-" | head -n1)
  for j in $(all_jobs | grep "^$svc-$e-" | tail -n +2); do
    a=$(addr_of "t$$/$e" "$j")
    for try in 1 2 3; do  # a loaded machine may time a single wget out
      fetch "$first" "$a" | grep -q "$j" && break
      [ "$try" = 3 ] && fail "$j does not answer $first at its overlay address $a (3 tries)"
      echo "$j did not answer $first at $a (try $try)"
      sleep 0.5
    done
  done
done
sed -n '/"journal"/,/]/p' "$report" | head -n 3
echo "reboot: all $((N + 2)) back, each answers at its overlay address, none duplicated"

# ---- 4. down longer than the agent grace: re-placed, then fenced ----
"$root/scripts/pod" crash-host --dir "$dir" --host h1 || fail "crash-host"
for _ in $(seq 1 300); do
  [ "$(healthy_on h2)" -ge 2 ] && break
  sleep 0.2
done
[ "$(healthy_on h2)" -ge 2 ] || fail "service c was not re-placed on h2 while h1 was down"
"$root/scripts/pod" restart-host --dir "$dir" --host h1 || fail "restart-host after a long crash"
for _ in $(seq 1 300); do grep "is no longer placed here: fenced" "$dir/logs/strider-h1.log" | grep -q "$svc-c-2" && break; sleep 0.1; done
grep "is no longer placed here: fenced" "$dir/logs/strider-h1.log" | grep -q "$svc-c-" || fail "service c was not fenced on h1"
wait_healthy h1 "$N" 180 || fail "the zone=a jobs did not come back on h1"
sleep 1  # a negative: give a wrong restart of c on h1 a moment to show
for j in "$svc-c-1" "$svc-c-2"; do
  [ "$(copies "$j")" = 1 ] || fail "$j runs $(copies "$j") times across the pod after the long crash"
  [ -d "/run/rivendell/$tag1/runc/$(cid "$j")" ] && fail "$j restarted on h1 though sauron moved it"
done
for j in $(all_jobs); do [ "$(copies "$j")" = 1 ] || fail "$j runs $(copies "$j") times"; done
echo "long crash: service c fenced on h1 (runs once, on h2), the rest back on h1"
"$root/scripts/pod" down --dir "$dir" >/dev/null || fail "pod down"
echo "PASS: pod_sceptre"
