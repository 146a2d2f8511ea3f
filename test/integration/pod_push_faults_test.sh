#!/usr/bin/env bash
# pod_push_faults: `git push` deploys survive a kill -9 of a pod daemon, on a
# 2-host pod (scripts/pod up, busybox stack only; h1 role=build). Nothing is
# faked: gitrecv, rv-deploy, the build job on h1, the rollout.
#
# examples/procfile-app (app proc) is pushed once (v1); then, one fault a push:
#   sauron  kill -9 mid-build, restarted (as scripts/pod starts it)
#   sauron  kill -9 mid-rollout ("Starting N replicas of vN"), restarted
#   elrond  kill -9 mid-build, restarted
#   elrond  kill -9 mid-rollout, restarted
#   elrond  kill -9 as the build ends, down 3 s: the replicas wait for its auction
#   gitrecv kill -9 of `gitrecv run` mid-build (its sshd goes with it), restarted
#   gitrecv kill -9 of `gitrecv run` mid-rollout, restarted
# "Mid-build" is the app's `builder run` process running on h1 at the kill (an
# 8 MB incompressible file in the app keeps each build about a second long).
# After each: what runs settles on exactly one release, all of its replicas
# running, and that release is the one `rv releases` marks deployed (the old one
# or the new one, never a mix); a push that exits 0 released what runs; then the
# NEXT push deploys (Released vN, only vN runs, no release left `created`).
# Each faulted push's exit code and time are printed.
# sauron stays down 6 s (past one request's 5 s timeout: rv-deploy must wait it
# out, not give up with the new replicas running beside the old), elrond and
# gitrecv 1 s; RV_FAULTS_DOWN_S=N sets it for all.
# Needs root and the programs below (scripts/install-deps).
#   pod_push_faults_test.sh REPO_ROOT BUILD_DIR
set -u
root=$1
export RV_BUILD=$2
. "$root/test/integration/need.bash"
need_root_and pod_push_faults git ssh ssh-keygen sshd runc docker-registry ip nsenter flock setsid
for b in deploy/rv-deploy builder/builder gitrecv/gitrecv overlay/overlayd cli/rv sauron/sauron elrond/elrond; do
  [ -x "$RV_BUILD/$b" ] || { echo "FAIL: pod_push_faults: $RV_BUILD/$b is not built" >&2; exit 1; }
done
dir=$(mktemp -d /tmp/rv-podfault.XXXXXX)
chmod 755 "$dir"
. "$root/test/integration/test_ports.bash"
reserve_test_ports || exit 1
pod="$root/scripts/pod"
rv="$RV_BUILD/cli/rv --pod $dir/pod.json --timeout-ms 3000"
env=acme/f$$
app=$env/proc
blob_mb=${RV_FAULTS_BLOB_MB:-8}
ms() { echo $((($(date +%s%N) - $1) / 1000000)); }
fail() {
  echo "FAIL: $*" >&2
  for f in "$dir"/push-*.log; do [ -e "$f" ] && { echo "--- $(basename "$f")" >&2; tail -n 12 "$f" >&2; }; done
  # In a fault (fault's local $name): its pushes, whole, as their lines
  # arrived, and when the daemon was killed and restarted.
  for f in "$dir/push-${name:-}.log.ts" "$dir/push-${name:-}-next.log.ts" "$dir/faults.ts"; do
    [ -n "${name:-}" ] && [ -e "$f" ] && { echo "--- $(basename "$f")" >&2; cat "$f" >&2; }
  done
  $rv ps >&2 || true
  $rv releases "$app" >&2 || true
  $rv builds "$app" >&2 || true
  for f in "$dir"/logs/gitrecv.log "$dir"/logs/sauron.log "$dir"/logs/elrond.log "$dir"/logs/strider-*.log; do
    [ -e "$f" ] && { echo "--- $(basename "$f")" >&2; tail -n 10 "$f" >&2; }
  done
  exit 1
}
cleanup() {
  [ -n "${push_pid:-}" ] && kill "$push_pid" 2>/dev/null
  "$pod" down --dir "$dir" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=alice GIT_AUTHOR_EMAIL=alice@example.com GIT_COMMITTER_NAME=alice GIT_COMMITTER_EMAIL=alice@example.com
as_alice() {
  GIT_SSH_COMMAND="ssh -F /dev/null -i $dir/alice.key -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile=$dir/known_hosts -o StrictHostKeyChecking=accept-new" \
    timeout 150 "$@"
}
w=$dir/w
# change N: a new commit (the page names N).
change() {
  sed -i "s|<h1>procfile-app[^<]*</h1>|<h1>procfile-app $1</h1>|" "$w/server.sh"
  git -C "$w" commit -qam "change $1" || fail "commit $1"
}
# push LOG: the push's output in LOG, and in LOG.ts each line with the time
# it arrived (for a failure's timeline, with the kill and restart times).
push() {
  local rc
  as_alice git -C "$w" push rv main 2>&1 | while IFS= read -r l || [ -n "$l" ]; do
    printf '%s\n' "$l"
    printf '%s %s\n' "$(date +%T.%3N)" "$l" >>"$1.ts"
  done >"$1"
  rc=${PIPESTATUS[0]}
  return "$rc"
}

# The pod's way to start a daemon (scripts/pod start): setsid, log, pid file.
start_daemon() {
  local name=$1
  shift
  # In a subshell: the daemon is not this shell's job (no "Killed" notice).
  (
    setsid "$@" >>"$dir/logs/$name.log" 2>&1 </dev/null &
    echo $! >"$dir/pids/$name.pid"
  )
}
kill9() { kill -KILL "$(cat "$dir/pids/$1.pid")" || fail "no $1 to kill"; }
restart() {
  case "$1" in
    sauron) start_daemon sauron "$RV_BUILD/sauron/sauron" --pod "$dir/pod.json"
      for _ in $(seq 1 50); do $rv hosts >/dev/null 2>&1 && return 0; sleep 0.2; done
      fail "sauron does not answer after its restart" ;;
    elrond) start_daemon elrond "$RV_BUILD/elrond/elrond" --pod "$dir/pod.json" ;;
    gitrecv) start_daemon gitrecv "$RV_BUILD/gitrecv/gitrecv" run --dir "$dir/gitrecv"
      for _ in $(seq 1 50); do as_alice git -C "$w" ls-remote rv >/dev/null 2>&1 && return 0; sleep 0.2; done
      fail "gitrecv does not answer after its restart" ;;
  esac
}

# settled: what runs of the app is one release, every replica running, and it
# is the release marked deployed; prints it. Waits up to 60 s for a deploy
# still going (e.g. one whose pusher was cut off).
settled() {
  local ps running vs dep
  for _ in $(seq 1 120); do
    ps=$($rv ps "$app" 2>/dev/null | awk 'NR > 1') || ps=""
    vs=$(awk '{print $3}' <<<"$ps" | sort -u)
    running=$(awk '$7 != "running"' <<<"$ps" | wc -l)
    dep=$($rv releases "$app" 2>/dev/null | awk '$1 == "*" {print $2}')
    if [ -n "$ps" ] && [ "$(wc -l <<<"$vs")" = 1 ] && [ "$running" = 0 ] && [ "$vs" = "$dep" ]; then
      echo "$vs"
      return 0
    fi
    sleep 0.5
  done
  echo "not settled: versions '$(echo $vs)', $running not running, deployed '$dep'" >&2
  return 1
}

# fault NAME DAEMON TRIGGER DOWN_S: push a change, kill -9 DAEMON once TRIGGER
# hits, restart it DOWN_S s later; then the app settles on one release and the
# next push deploys.
# hit TRIGGER LOG: "builder": the app's builder process runs (the build job,
# on h1); else LOG has a line containing TRIGGER.
hit() {
  if [ "$1" = builder ]; then
    pgrep -f -- "builder run .*--app $app( |\$)" >/dev/null
  else
    grep -qF -- "$1" "$2" 2>/dev/null
  fi
}
n=1
fault() {
  local name=$1 daemon=$2 trigger=$3 down_s=${RV_FAULTS_DOWN_S:-$4} log=$dir/push-$1.log t0 tk rc v before
  before=$(settled) || fail "$name: not settled before the fault"
  n=$((n + 1)); change "$n"
  t0=$(date +%s%N)
  (
    push "$log"
    rc=$?
    date +%s%N >"$log.end"
    exit $rc
  ) &
  push_pid=$!
  for _ in $(seq 1 600); do hit "$trigger" "$log" && break; sleep 0.05; done
  hit "$trigger" "$log" || fail "$name: the push never reached '$trigger'"
  tk=$(ms "$t0")
  kill9 "$daemon"
  echo "$(date +%T.%3N) $name: killed $daemon" >>"$dir/faults.ts"
  hit builder || [ "$trigger" != builder ] || fail "$name: the build ended before the kill (no fault mid-build)"
  sleep "$down_s"
  echo "$(date +%T.%3N) $name: restarting $daemon" >>"$dir/faults.ts"
  restart "$daemon"
  echo "$(date +%T.%3N) $name: $daemon answers" >>"$dir/faults.ts"
  wait "$push_pid"; rc=$?; push_pid=""
  v=$(settled) || fail "$name: after the fault"
  echo "$name: killed at $tk ms, down ${down_s}s; push exited $rc after $((($(cat "$log.end") - t0) / 1000000)) ms; settled on $v (was $before): $(grep -o 'remote: -----> \(Deploy failed\|Released\).*' "$log" | tail -n 1)"
  if [ "$rc" = 0 ]; then
    grep -q "^remote: -----> Released $v" "$log" || fail "$name: the push succeeded but $v runs"
    grep -q "^remote: -----> Nothing to compile" "$log" || fail "$name: the build's own output did not reach the pusher"
  fi
  if [ "$daemon" = sauron ] && [ "$down_s" -gt 5 ] && [ "$trigger" != builder ]; then
    grep -q "^remote: -----> sauron does not answer" "$log" || fail "$name: the rollout never met sauron's outage"
  fi
  [ "$v" = "$before" ] || grep -q "Released $v" "$log" || [ "$daemon" = gitrecv ] \
    || fail "$name: $v runs, neither the old release nor the push's"
  # The next push deploys.
  n=$((n + 1)); change "$n"
  t0=$(date +%s%N)
  push "$dir/push-$name-next.log" || fail "$name: the next push exited $?"
  v=$(grep -o '^remote: -----> Released v[0-9]*' "$dir/push-$name-next.log" | awk '{print $4}')
  [ -n "$v" ] || fail "$name: the next push released nothing"
  [ "$(settled)" = "$v" ] || fail "$name: $v is not what runs after the next push"
  ! $rv releases "$app" | grep -qE ' v[0-9]+ +created ' || fail "$name: a release is left half made: $($rv releases "$app")"
  echo "$name: the next push deployed $v in $(ms "$t0") ms"
}

t_all=$(date +%s%N)
RV_POD_STACKS=busybox "$pod" up --hosts 2 --dir "$dir" --base-port "$port" >"$dir/up.log" 2>&1 || { cat "$dir/up.log" >&2; fail "pod up"; }
url=$(cat "$dir/gitrecv/url") || fail "no gitrecv url"
echo "pod up: $(ms "$t_all") ms"
$rv users:add alice >/dev/null || fail "users:add alice"
ssh-keygen -q -t ed25519 -N "" -C alice -f "$dir/alice.key" || fail "ssh-keygen"
$rv keys:add alice "$dir/alice.key.pub" >/dev/null || fail "keys:add"
$rv apps:create "$env" proc >/dev/null || fail "apps:create"
$rv access:grant alice "$env" >/dev/null || fail "access:grant"
cp -r "$root/examples/procfile-app" "$w"
# Incompressible bytes: every build writes and pushes them in its image layer,
# which keeps the build job running long enough to be hit.
head -c $((blob_mb << 20)) /dev/urandom >"$w/blob.bin"
git -C "$w" init -q -b main && git -C "$w" add -A && git -C "$w" commit -qm v1 \
  && git -C "$w" remote add rv "$url/$env/proc.git" || fail "cannot make the work tree"
t0=$(date +%s%N)
push "$dir/push-1.log" || fail "the first push exited $?"
grep -q "^remote: -----> Released v1" "$dir/push-1.log" || fail "no Released v1"
echo "first push: $(ms "$t0") ms"

fault sauron-build sauron builder 6
fault sauron-rollout sauron "remote: -----> Starting " 6
fault elrond-build elrond builder 1
fault elrond-rollout elrond "remote: -----> Starting " 1
fault elrond-auction elrond "remote: -----> Build done in" 3
fault gitrecv-build gitrecv builder 1
fault gitrecv-rollout gitrecv "remote: -----> Starting " 1
echo "total: $(ms "$t_all") ms"
echo "PASS: pod_push_faults"
