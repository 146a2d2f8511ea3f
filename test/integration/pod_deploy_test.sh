#!/usr/bin/env bash
# pod_deploy: rv-deploy on a 2-host pod of namespace hosts, with the fake
# builder (test/integration/fake_builder.sh: the busybox stack image, the
# source's Procfile as process types).
#   v1  web=2 (HA: one per host) busybox httpd on $PORT: both replicas answer
#       "v1" at the overlay addresses rv-deploy printed last
#   v2  replaces v1: every v2 replica's `running` event comes before the first
#       v1 `job.stopped` event; the replicas answer "v2"
#   v3  never listens on $PORT: rolled back after the boot timeout, rv-deploy
#       exits 1 saying so, v3 is `failed`, v2 still answers
#   v4  exits at boot: rolled back at once (not after the timeout), v2 answers
#   a build that fails and a `release:` command that exits 3 (v5), its
#   output said to the pusher: exit 1,
#       nothing deployed, the build's output kept (rv builds:output)
#   rv rollback APP v1: v6 runs v1's image and command, answers "v1-"
#   rv config:set ENV GREETING=hi PORT=8080: v7 (config version 1) answers
#       "v1-hi" on port 8080
#   rv ps:scale APP web=1: one replica left, no new release
#   config:set --secret: a release (v8); plain vars reach the build's ENV_DIR,
#       the secret no build log or record
#   kill -9 of rv-deploy mid-rollout (v9 beside v8): the next deploy (v10)
#       records v9 failed, stops its replica at once and ends on v10 alone
#   SIGTERM to rv-deploy mid-build: the builder stops, build failed, v10 runs,
#       and its ENV_DIR is gone from its TMPDIR; a dead deploy's ENV_DIR the
#       next deploy removes, a live process's it keeps
#   pod down: the hosts' build work dirs are gone, another pod's stays
# Needs root, runc, docker-registry, iproute2, nsenter, overlayd; skips (77) otherwise.
#   pod_deploy_test.sh REPO_ROOT BUILD_DIR
set -u
root=$1
export RV_BUILD=$2
if [ "$(id -u)" != 0 ] || [ ! -x /usr/bin/docker-registry ] || [ ! -x /usr/sbin/runc ] || ! command -v nsenter >/dev/null \
   || ! command -v ip >/dev/null || [ ! -x "$RV_BUILD/overlay/overlayd" ] || [ ! -x "$RV_BUILD/deploy/rv-deploy" ]; then
  echo "SKIPPED: pod_deploy needs root, docker-registry, runc, iproute2, nsenter, overlayd and rv-deploy" >&2
  exit 77
fi
dir=$(mktemp -d /tmp/rv-podd.XXXXXX)
mkdir "$dir/tmp"  # rv-deploy's TMPDIR: only this test's deploys write there
. "$root/test/integration/test_ports.bash"
reserve_test_ports || exit 1
pod="$root/scripts/pod"
rv="$RV_BUILD/cli/rv --pod $dir/pod.json"
env=acme/d$$
app=$env/web
deploy() {  # [boot=S] deploy SRC_DIR LOG: rv-deploy's exit code
  local src=$1 log=$2
  TMPDIR=$dir/tmp timeout 120 "$RV_BUILD/deploy/rv-deploy" --pod "$dir/pod.json" --app "$app" --commit "$(printf %s "$src" | sha1sum | cut -c1-40)" \
    --source "$src" --user alice --builder "$root/test/integration/fake_builder.sh" --boot-timeout-s "${boot:-20}" >"$log" 2>&1
}
fail() {
  echo "FAIL: $*" >&2
  for f in "$dir"/deploy-*.log; do [ -e "$f" ] && { echo "--- $(basename "$f")" >&2; tail -n 25 "$f" >&2; }; done
  $rv ps >&2 || true
  $rv releases "$app" >&2 || true
  $rv events --limit 60 >&2 || true
  for f in "$dir"/logs/strider-*.log; do [ -e "$f" ] && { echo "--- $(basename "$f")" >&2; tail -n 10 "$f" >&2; }; done
  exit 1
}
cleanup() {
  "$pod" down --dir "$dir" >/dev/null 2>&1 || true
  rm -rf "$dir"
  [ -n "${other:-}" ] && rm -rf "$other"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# app_src DIR BODY [RELEASE_CMD]: a Procfile app serving BODY-$GREETING on $PORT.
app_src() {
  mkdir -p "$1"
  echo "web: mkdir -p /tmp/w && echo $2-\$GREETING >/tmp/w/index.html && exec httpd -f -p \$PORT -h /tmp/w" >"$1/Procfile"
  [ -n "${3:-}" ] && echo "release: $3" >>"$1/Procfile"
  return 0
}
# answers LOG WANT: every address of LOG's last line gives WANT, asked from
# inside one of the app's running containers (the overlay is per environment).
answers() {
  local log=$1 want=$2 from addrs a body n=0
  addrs=$(tail -n 1 "$log" | grep -o 'http://[0-9.]*:[0-9]*')
  [ -n "$addrs" ] || fail "no address on the last line of $log: $(tail -n 1 "$log")"
  from=$($rv ps "$app" | awk '$7 == "running" {print $1; exit}')
  [ -n "$from" ] || fail "no running replica of $app to ask from"
  for a in $addrs; do
    body=""
    for _ in $(seq 1 20); do
      body=$("$pod" exec --dir "$dir" --job "$from" -- timeout 5 wget -q -O - "$a/index.html" 2>/dev/null) && break
      sleep 0.2
    done
    [ "$body" = "$want" ] || fail "$a answered '$body', want '$want'"
    n=$((n + 1))
  done
  echo "$n"
}

"$pod" up --hosts 2 --dir "$dir" --base-port "$port" >/dev/null || fail "pod up"
[ -f "$dir/net.env" ] || fail "pod up did not use the namespace layout"

# The pod's registry: TLS with the pod CA, credentials; h2 (role=app) has only
# the pull credential, h1 (role=build) also the push one for its builds.
read -r reg mode <"$dir/registry/endpoint" || fail "no registry endpoint"
[ "$mode" = tls ] || fail "the pod's registry is not in TLS mode ($mode)"
args() { tr '\0' ' ' <"/proc/$(cat "$dir/pids/strider-$1.pid")/cmdline"; }
args h2 | grep -q -- "--registry-auth $dir/keys/registry-pull.cred" || fail "h2's strider has no pull credential"
args h2 | grep -q -- "--builder-registry-auth" && fail "h2 (role=app) got the push credential"
args h1 | grep -q -- "--builder-registry-auth $dir/keys/registry-push.cred" || fail "h1 (role=build) has no push credential"
in_h2() { "$pod" exec --dir "$dir" --host h2 -- "$@"; }
c=$(in_h2 curl -s -o /dev/null -w '%{http_code}' -m 5 --cacert "$dir/keys/pod-ca.crt" "https://$reg/v2/stack/busybox/tags/list")
[ "$c" = 401 ] || fail "anonymous read of the pod's registry from h2: HTTP $c, want 401"
c=$(printf 'user = "%s"\n' "$(cat "$dir/keys/registry-pull.cred")" | in_h2 curl -s -o /dev/null -w '%{http_code}' -m 5 -K - \
  --cacert "$dir/keys/pod-ca.crt" "https://$reg/v2/stack/busybox/tags/list")
[ "$c" = 200 ] || fail "h2's pull credential cannot read: HTTP $c"
c=$(printf 'user = "%s"\n' "$(cat "$dir/keys/registry-pull.cred")" | in_h2 curl -s -o /dev/null -w '%{http_code}' -m 5 -K - \
  --cacert "$dir/keys/pod-ca.crt" -X POST "https://$reg/v2/stack/busybox/blobs/uploads/")
[ "$c" = 403 ] || fail "h2's pull credential may push: HTTP $c, want 403"
echo "registry: https with the pod CA, anonymous 401, pull credential reads, its push 403"
$rv ps:scale "$app" web=2 | grep -q "no release runs yet" || fail "ps:scale before the first release"

# v1: two HA replicas.
app_src "$dir/src1" v1
t0=$(date +%s%N)
deploy "$dir/src1" "$dir/deploy-1.log" || fail "deploy v1 exited $?"
echo "v1 deployed in $((($(date +%s%N) - t0) / 1000000)) ms"
grep -q "^-----> Procfile app detected" "$dir/deploy-1.log" || fail "the build's output was not streamed"
grep -q "won by h" "$dir/deploy-1.log" || fail "no 'won by' progress line"
grep -q "^-----> Released v1$" "$dir/deploy-1.log" || fail "no 'Released v1'"
[ "$(answers "$dir/deploy-1.log" v1-)" = 2 ] || fail "v1 does not answer on 2 replicas"
hosts=$($rv ps "$app" | awk 'NR > 1 {print $6}' | sort -u | wc -l)
[ "$hosts" = 2 ] || fail "the two web replicas share a host (HA)"

# v2 replaces v1: new running before old stopped.
seq0=$($rv counters | awk '$1 == "events.last_seq" {print $2}')
app_src "$dir/src2" v2
t0=$(date +%s%N)
deploy "$dir/src2" "$dir/deploy-2.log" || fail "deploy v2 exited $?"
echo "v2 replaced v1 in $((($(date +%s%N) - t0) / 1000000)) ms"
grep -q "^-----> v2 is healthy; stopping v1" "$dir/deploy-2.log" || fail "no cut-over line"
[ "$(answers "$dir/deploy-2.log" v2-)" = 2 ] || fail "v2 does not answer on 2 replicas"
$rv events --limit 100000 | awk -v s="$seq0" '$1 > s' >"$dir/events-2"
last_v2_running=$(awk '$3 == "job.state" && /job=acme\.d[0-9]*\.web\.web\.v2\./ && $6 ~ /^running/ {n = $1} END {print n + 0}' "$dir/events-2")
first_v1_stop=$(awk '$3 == "job.stopped" && /job=acme\.d[0-9]*\.web\.web\.v1\./ {print $1; exit}' "$dir/events-2")
[ "$last_v2_running" -gt 0 ] && [ -n "$first_v1_stop" ] || fail "no v2 running / v1 stopped events: $(cat "$dir/events-2")"
[ "$last_v2_running" -lt "$first_v1_stop" ] || fail "a v1 replica stopped (event $first_v1_stop) before every v2 one ran ($last_v2_running)"
[ "$(grep -c 'job.state.*web\.v2\..*running' "$dir/events-2")" -ge 2 ] || fail "fewer than 2 v2 running events"

# v3 never listens: rolled back, v2 still answers.
mkdir -p "$dir/src3"
echo 'web: exec sleep 1000' >"$dir/src3/Procfile"
boot=6 deploy "$dir/src3" "$dir/deploy-3.log" && fail "deploy v3 succeeded"
tail -n 1 "$dir/deploy-3.log" | grep -q "^-----> Deploy failed: v3: v3 was not healthy within 6 s; v2 still runs" \
  || fail "unclear last line: $(tail -n 1 "$dir/deploy-3.log")"
$rv releases "$app" | grep -q " v3 *failed" || fail "v3 not recorded as failed"
[ "$(answers "$dir/deploy-2.log" v2-)" = 2 ] || fail "v2 stopped answering after v3's rollback"
[ "$($rv ps "$app" | grep -c ' v3 ')" = 0 ] || fail "v3 replicas left running"

# v4 crashes at boot: rolled back at once, not after the boot timeout.
mkdir -p "$dir/src4"
echo 'web: echo crashing; exit 1' >"$dir/src4/Procfile"
t0=$(date +%s%N)
deploy "$dir/src4" "$dir/deploy-4.log" && fail "deploy v4 succeeded"
ms=$((($(date +%s%N) - t0) / 1000000))
echo "v4 (crash at boot) rolled back in $ms ms"
[ "$ms" -lt 15000 ] || fail "a crash at boot waited for the boot timeout"
tail -n 1 "$dir/deploy-4.log" | grep -q "^-----> Deploy failed: v4: v4 web replica [12] crashed at boot.*; v2 still runs" \
  || fail "unclear last line: $(tail -n 1 "$dir/deploy-4.log")"
[ "$(answers "$dir/deploy-2.log" v2-)" = 2 ] || fail "v2 stopped answering after v4's rollback"

# A failed build and a failed release command deploy nothing.
mkdir -p "$dir/src5" && echo "compile error: nope" >"$dir/src5/FAIL_BUILD"
deploy "$dir/src5" "$dir/deploy-5.log" && fail "a failed build deployed"
tail -n 1 "$dir/deploy-5.log" | grep -q "^-----> Deploy failed: build #5 failed: compile error: nope" \
  || fail "unclear build failure: $(tail -n 1 "$dir/deploy-5.log")"
$rv builds:output "$app" 5 | grep -q "compile output before the failure" || fail "builds:output 5 lacks the build's output"
app_src "$dir/src6" v6 "echo migrating-v6; exit 3"
deploy "$dir/src6" "$dir/deploy-6.log" && fail "a failed release command deployed"
tail -n 1 "$dir/deploy-6.log" | grep -q "release command failed (exit code 3)" || fail "unclear release failure: $(tail -n 1 "$dir/deploy-6.log")"
grep -qx "       migrating-v6" "$dir/deploy-6.log" || fail "the release command's output did not reach the deploy's output: $(tail -n 5 "$dir/deploy-6.log")"
[ "$(answers "$dir/deploy-2.log" v2-)" = 2 ] || fail "v2 stopped answering after v5's failed release command"
$rv builds "$app" | awk 'NR > 1' | wc -l | grep -qx 6 || fail "rv builds does not list 6 builds"
[ "$($rv ps "$app" | awk 'NR > 1 {print $3}' | sort -u)" = v2 ] || fail "not only v2 runs after the failures"

# Rollback to v1: a new release v6 (v5 was the failed release command's) with v1's image and command.
$rv rollback "$app" v1 --boot-timeout-s 20 >"$dir/deploy-7.log" 2>&1 || fail "rollback exited $?"
grep -q "^-----> Released v6" "$dir/deploy-7.log" || fail "rollback did not release v6"
[ "$($rv ps "$app" | awk 'NR > 1 {print $3}' | sort -u)" = v6 ] || fail "not only v6 runs after the rollback"
[ "$(answers "$dir/deploy-7.log" v1-)" = 2 ] || fail "v6 (v1's image) does not answer 'v1-' on 2 replicas"
# A config change is a release (v7) that the app sees.
$rv config:set "$env" GREETING=hi PORT=8080 >"$dir/deploy-8.log" 2>&1 || fail "config:set exited $?"
tail -n 1 "$dir/deploy-8.log" | grep -q "http://[0-9.]*:8080 " || fail "the PORT config var did not move the web port: $(tail -n 1 "$dir/deploy-8.log")"
grep -q "^-----> Released v7" "$dir/deploy-8.log" || fail "config:set did not release v7"
$rv releases "$app" | grep " v7 " | grep -q "config set GREETING,PORT" || fail "v7 is not the config release"
from=$($rv ps "$app" | awk '$7 == "running" {print $1; exit}')
body=$("$pod" exec --dir "$dir" --job "$from" -- timeout 5 wget -q -O - "http://127.0.0.1:8080/index.html" 2>/dev/null)
[ "$body" = v1-hi ] || fail "v7 answered '$body', want 'v1-hi'"

# Scale down: no new release, one replica left.
$rv ps:scale "$app" web=1 >"$dir/deploy-9.log" 2>&1 || fail "ps:scale exited $?"
[ "$($rv ps "$app" | awk 'NR > 1' | wc -l)" = 1 ] || fail "not 1 replica after ps:scale web=1"
! $rv releases "$app" | grep -q " v8 " || fail "ps:scale made a release"
# A secret is a config release too (v8), and never reaches the build.
$rv config:set "$env" TOKEN=s3cr3t-$$ --secret >"$dir/deploy-9b.log" 2>&1 || fail "config:set --secret exited $?"
grep -q "^-----> Released v8" "$dir/deploy-9b.log" || fail "config:set --secret did not release v8"

# kill -9 of rv-deploy mid-rollout: v9's replica runs beside v8 until the next
# deploy (v10), which stops it at once, records v9 failed and ends on v10 alone.
mkdir -p "$dir/src8"
echo 'web: exec sleep 1000' >"$dir/src8/Procfile"
boot=60 deploy "$dir/src8" "$dir/deploy-10.log" &
dpid=$!
for _ in $(seq 1 100); do grep -q "web.v9 #1 on h" "$dir/deploy-10.log" 2>/dev/null && break; sleep 0.1; done
grep -q "web.v9 #1 on h" "$dir/deploy-10.log" || fail "v9's replica never started"
# rv-deploy is the child of the subshell `timeout` runs: kill it, not timeout.
kill -9 $(pgrep -P "$(pgrep -P $dpid -x timeout || echo $dpid)" -x rv-deploy) 2>/dev/null || kill -9 "$dpid"
wait "$dpid" 2>/dev/null
[ "$($rv ps "$app" | awk 'NR > 1 {print $3}' | sort -u | tr '\n' ' ')" = "v8 v9 " ] || fail "no v8+v9 mix after the kill: $($rv ps "$app")"
# What a SIGKILLed deploy leaves in TMPDIR the next one removes, never a
# live process's: an ENV_DIR named for a dead pid and one for this shell's.
sh -c 'exit 0' &
dead=$!
wait "$dead"
mkdir -p "$dir/tmp/rv-deploy-env.$dead.planted/x" "$dir/tmp/rv-deploy-env.$$.live"
deploy "$dir/src2" "$dir/deploy-11.log" || fail "the deploy after a killed one exited $?"
[ ! -e "$dir/tmp/rv-deploy-env.$dead.planted" ] || fail "the next deploy left a dead deploy's ENV_DIR"
[ -d "$dir/tmp/rv-deploy-env.$$.live" ] || fail "a deploy removed a live process's ENV_DIR"
rmdir "$dir/tmp/rv-deploy-env.$$.live"
grep -q "^-----> v9 was interrupted; recorded as failed" "$dir/deploy-11.log" || fail "v9 not recorded as interrupted"
grep -q "^-----> Stopping the replicas of v9 (an interrupted rollout)" "$dir/deploy-11.log" || fail "v9's replica not stopped as a leftover"
[ "$($rv ps "$app" | awk 'NR > 1 {print $3}' | sort -u)" = v10 ] || fail "not only v10 runs after the deploy that followed a kill"
$rv releases "$app" | grep " v9 " | grep -q failed || fail "v9 is not failed"
grep -q "^       config vars: GREETING PORT $" "$dir/deploy-11.log" || fail "the build did not get the plain config vars (only): $(grep 'config vars' "$dir/deploy-11.log")"
! grep -rq "s3cr3t-$$" "$dir"/deploy-*.log || fail "a secret reached a build log"
$rv builds:output "$app" 8 | grep -q "config vars: GREETING" || fail "builds:output lacks the build's lines"
! $rv builds:output "$app" 8 | grep -q "s3cr3t" || fail "a secret is in a build record"
# A cancelled push (SIGTERM to rv-deploy mid-build): the builder is stopped,
# the build recorded failed, nothing deployed.
mkdir -p "$dir/src12" && touch "$dir/src12/SLOW_BUILD"
TMPDIR=$dir/tmp "$RV_BUILD/deploy/rv-deploy" --pod "$dir/pod.json" --app "$app" --commit 1234567 --source "$dir/src12" --user alice \
  --builder "$root/test/integration/fake_builder.sh" >"$dir/deploy-12.log" 2>&1 &
dpid=$!
for _ in $(seq 1 100); do grep -q "compiling slowly" "$dir/deploy-12.log" && break; sleep 0.1; done
# The build reads the config vars from its ENV_DIR, which the SIGTERM must not leave behind.
compgen -G "$dir/tmp/rv-deploy-env.$dpid.*" >/dev/null || fail "no ENV_DIR of rv-deploy $dpid in $dir/tmp mid-build: $(ls "$dir/tmp")"
kill -TERM "$dpid"
t0=$(date +%s)
wait "$dpid" && fail "a cancelled deploy exited 0"
[ $(($(date +%s) - t0)) -lt 10 ] || fail "the cancel took 10 s or more"
tail -n 1 "$dir/deploy-12.log" | grep -q "^-----> Deploy failed: build #9 failed: cancelled" || fail "unclear cancel: $(tail -n 1 "$dir/deploy-12.log")"
$rv builds "$app" | awk '$1 == 9' | grep -q failed || fail "build 9 not recorded as failed"
[ "$($rv ps "$app" | awk 'NR > 1 {print $3}' | sort -u)" = v10 ] || fail "a cancelled deploy changed what runs"
[ -z "$(ls -A "$dir/tmp")" ] || fail "deploys left temp files in their TMPDIR: $(ls -A "$dir/tmp")"
# No registry password in any log (daemons, deploys, registry, nginx).
for cred in "$dir/keys/registry-push.cred" "$dir/keys/registry-pull.cred"; do
  pw=$(cut -d: -f2- "$cred")
  [ ${#pw} -ge 16 ] || fail "short password in $cred"
  if grep -rlaF -- "$pw" "$dir/logs" "$dir"/deploy-*.log "$dir/registry/registry.log" "$dir/registry/nginx/"*.log; then
    fail "a registry password is in the logs above"
  fi
done
# pod down removes its hosts' build work dirs (named like their run dirs,
# scripts/pod host_tag), never another pod's.
works=""
for i in 1 2; do
  w=/var/lib/rivendell/build-work/h$i-$(printf %s "$dir/hosts/h$i" | sha256sum | cut -c1-8)
  [ -d "$w" ] || fail "no build work dir $w for h$i"
  works="$works $w"
done
other=/var/lib/rivendell/build-work/h1-other$$
mkdir -p "$other/x"
"$pod" down --dir "$dir" >/dev/null || fail "pod down"
[ -d "$other/x" ] || fail "pod down removed another pod's build work dir $other"
rm -rf "$other"
for w in $works; do [ ! -e "$w" ] || fail "pod down left the build work dir $w"; done
pgrep -f "$dir/registry/nginx/nginx.conf" >/dev/null && fail "the registry's nginx runs on after pod down"
echo "PASS: pod_deploy"
