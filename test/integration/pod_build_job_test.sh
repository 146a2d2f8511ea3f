#!/usr/bin/env bash
# pod_build_job: a push's build as an auctioned job (issue 17 item 3) on a
# 2-host pod of namespace hosts (scripts/pod: h1 role=build, h2 role=app),
# with the real builder and buildpacks (procfile pack, busybox stack):
#   rv-deploy (no --builder) pushes the source to the registry, submits a
#   kind=build job; elrond awards it to h1 (the only role=build host); h1's
#   strider runs its builder, which fetches the source by digest and writes
#   the output to the build record as h1; rv-deploy prints it as it comes and
#   releases the image: the app answers from its replica.
#   A second deploy restores the app's build cache from the registry.
#   kill -9 of the building strider mid-build, then its restart: the build
#   is placed again, the dead builder's sandbox cleaned up, the deploy ends.
#   A tree no buildpack detects: the build job fails with the builder's
#   reason, rv-deploy exits 1, v1 still answers.
#   The same tree with --local-build: timed beside the auctioned build.
#   h2 relabelled role=build and h1 drained: the build lands on h2 and gets
#   the app's cache from the registry.
#   With both drained no host may build: rv-deploy says so and exits 1.
# Needs root, runc, docker-registry, iproute2, nsenter, overlayd; skips (77) otherwise.
#   pod_build_job_test.sh REPO_ROOT BUILD_DIR
set -u
root=$1
export RV_BUILD=$2
if [ "$(id -u)" != 0 ] || [ ! -x /usr/bin/docker-registry ] || [ ! -x /usr/sbin/runc ] || ! command -v nsenter >/dev/null \
   || ! command -v ip >/dev/null || [ ! -x "$RV_BUILD/overlay/overlayd" ] || [ ! -x "$RV_BUILD/deploy/rv-deploy" ] \
   || [ ! -x "$RV_BUILD/builder/builder" ]; then
  echo "SKIPPED: pod_build_job needs root, docker-registry, runc, iproute2, nsenter, overlayd, rv-deploy and builder" >&2
  exit 77
fi
dir=$(mktemp -d /tmp/rv-podb.XXXXXX)
. "$root/test/integration/test_ports.bash"
reserve_test_ports || exit 1
pod="$root/scripts/pod"
rv="$RV_BUILD/cli/rv --pod $dir/pod.json"
env=acme/b$$
app=$env/web
deploy() {  # deploy SRC_DIR LOG [ARGS...]: rv-deploy's exit code
  local src=$1 log=$2
  shift 2
  timeout 180 "$RV_BUILD/deploy/rv-deploy" --pod "$dir/pod.json" --app "$app" --commit "$(printf %s "$src" | sha1sum | cut -c1-40)" \
    --source "$src" --user alice --boot-timeout-s 30 "$@" >"$log" 2>&1
}
fail() {
  echo "FAIL: $*" >&2
  for f in "$dir"/deploy-*.log; do [ -e "$f" ] && { echo "--- $(basename "$f")" >&2; tail -n 30 "$f" >&2; }; done
  $rv jobs >&2 || true
  $rv events --limit 100000 | tail -n 40 >&2 || true
  for f in "$dir"/logs/strider-*.log; do [ -e "$f" ] && { echo "--- $(basename "$f")" >&2; tail -n 15 "$f" >&2; }; done
  exit 1
}
cleanup() {
  "$pod" down --dir "$dir" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

# app_src DIR BODY: a Procfile app serving BODY on $PORT (busybox httpd).
app_src() {
  mkdir -p "$1"
  echo "web: mkdir -p /tmp/w && echo $2 >/tmp/w/index.html && exec httpd -f -p \$PORT -h /tmp/w" >"$1/Procfile"
}
answers() {  # answers LOG WANT: the address on LOG's last line gives WANT (asked from the app's container)
  local log=$1 want=$2 from a body=""
  a=$(tail -n 1 "$log" | grep -o 'http://[0-9.]*:[0-9]*' | head -n 1)
  [ -n "$a" ] || fail "no address on the last line of $log"
  from=$($rv ps "$app" | awk '$7 == "running" {print $1; exit}')
  [ -n "$from" ] || fail "no running replica of $app"
  for _ in $(seq 1 20); do
    body=$("$pod" exec --dir "$dir" --job "$from" -- timeout 5 wget -q -O - "$a/index.html" 2>/dev/null) && break
    sleep 0.2
  done
  [ "$body" = "$want" ] || fail "$a answered '$body', want '$want'"
}

"$pod" up --hosts 2 --dir "$dir" --base-port "$port" >/dev/null || fail "pod up"
[ -f "$dir/net.env" ] || fail "pod up did not use the namespace layout"
$rv hosts | grep -q "role=build" || fail "no role=build host: $($rv hosts)"

# 1. The build as a job, won by h1.
app_src "$dir/src1" one
t0=$(date +%s%N)
deploy "$dir/src1" "$dir/deploy-1.log" || fail "deploy 1 exited $?"
echo "auctioned build + first deploy: $(ms_since "$t0") ms"
grep -q "^-----> Build job won by h1$" "$dir/deploy-1.log" || fail "the build job was not won by h1"
grep -q "^-----> Source [0-9a-f]*: " "$dir/deploy-1.log" || fail "the builder did not fetch the source by digest"
grep -q "^-----> Procfile app detected" "$dir/deploy-1.log" \
  || grep -q "^-----> Procfile" "$dir/deploy-1.log" || fail "the build's output did not stream back"
grep -q "^-----> Released v1$" "$dir/deploy-1.log" || fail "no 'Released v1'"
answers "$dir/deploy-1.log" one
# Sauron's record: the job ran on h1 and its output is the build's (written by h1).
$rv events --limit 100000 >"$dir/events-1"
grep -q "job.placed.*host=h1.*job=acme\.b[0-9]*\.web\.build\.b1\." "$dir/events-1" \
  || grep -q "job.placed.*job=acme\.b[0-9]*\.web\.build\.b1\..*h1" "$dir/events-1" \
  || { grep "build" "$dir/events-1" >&2; fail "no job.placed event of the build job on h1"; }
$rv builds:output "$app" 1 >"$dir/output-1" || fail "rv builds:output"
grep -q "^builder: result " "$dir/output-1" || fail "the build record has no result line: $(tail -n 3 "$dir/output-1")"
$rv builds "$app" | grep -q succeeded || fail "build 1 not recorded succeeded: $($rv builds "$app")"
$rv jobs | grep "web.build.b1" | grep -q stopped || fail "the build job was not stopped: $($rv jobs | grep build)"

# 2. Second build: the cache comes back from the registry (cache/APP).
app_src "$dir/src2" two
t0=$(date +%s%N)
deploy "$dir/src2" "$dir/deploy-2.log" || fail "deploy 2 exited $?"
auct_ms=$(ms_since "$t0")
echo "auctioned build + replace: $auct_ms ms"
grep -q "^-----> Build cache: restored" "$dir/deploy-2.log" || fail "the build cache was not restored from the registry"
answers "$dir/deploy-2.log" two

# 2b. kill -9 of the building strider mid-build, then its restart: the new
# strider starts the build again (or, past its grace, the job is placed
# again), the next builder cleans up the dead one's sandbox and the build
# ends; the deploy goes on. A large static site keeps the build busy for seconds.
mkdir -p "$dir/src-big"
echo big >"$dir/src-big/index.html"
head -c $((48 << 20)) /dev/urandom >"$dir/src-big/big.bin"
deploy "$dir/src-big" "$dir/deploy-big.log" &
dpid=$!
for _ in $(seq 1 300); do grep -qs "^-----> Build job won by h1" "$dir/deploy-big.log" && break; sleep 0.05; done
grep -q "^-----> Build job won by h1" "$dir/deploy-big.log" || fail "the big build was not placed on h1"
sleep 0.5
grep -q "^-----> Image " "$dir/deploy-big.log" && fail "the big build ended before the strider could be killed"
kill -9 "$(cat "$dir/pids/strider-h1.pid")"
sleep 1
"$pod" restart-host --dir "$dir" --host h1 --agent-only >/dev/null 2>&1 || fail "restart h1's strider"
wait "$dpid" || fail "the deploy whose build host was killed exited $?"
# Within the strider's grace (sauron keeps its jobs 2 s) the new strider starts
# the build again at the same attempt; past it the job is placed again.
grep -Eq "^-----> Build job (restarted on h1 \(its strider restarted\)|placed again on h1 \(its host was lost\))" "$dir/deploy-big.log" \
  || fail "rv-deploy did not say the build started over"
grep -q "^-----> Cleaned up 1 build(s) left by a builder that died" "$dir/deploy-big.log" \
  || fail "the killed build's sandbox was not cleaned up by the next build"
grep -q "^-----> Released v3$" "$dir/deploy-big.log" || fail "no 'Released v3' after the build host was killed"
answers "$dir/deploy-big.log" big
grep "^-----> Build job" "$dir/deploy-big.log"
[ "$(grep -c "$dir/hosts/h1/builder" /proc/mounts)" = 0 ] || fail "mounts of h1's builds left behind"

# 3. A failing build: the builder's reason, v2 still answers.
mkdir -p "$dir/src3" && echo "nothing to detect" >"$dir/src3/README"
deploy "$dir/src3" "$dir/deploy-3.log" && fail "a tree no buildpack detects deployed"
grep -q "^-----> Deploy failed: build #4 failed: .*buildpack" "$dir/deploy-3.log" || fail "no clear build failure: $(tail -n 2 "$dir/deploy-3.log")"
answers "$dir/deploy-big.log" big

# 4. The same build, local (the fallback), timed beside the auctioned one.
app_src "$dir/src4" four
t0=$(date +%s%N)
deploy "$dir/src4" "$dir/deploy-4.log" --local-build || fail "local deploy exited $?"
local_ms=$(ms_since "$t0")
echo "local build + replace: $local_ms ms (auctioned: $auct_ms ms)"
grep -q "Build job won by" "$dir/deploy-4.log" && fail "--local-build submitted a build job"
answers "$dir/deploy-4.log" four

# 5. The next build lands on another build host: the cache follows through
# the registry. h2 becomes role=build (its strider restarts to learn it), h1 is drained.
$rv hosts enroll h2 --key "$dir/keys/h2.key" --label zone=b --label role=build >/dev/null || fail "relabel h2"
# Drained first, so elrond has heard of it before the next auction.
$rv hosts drain h1 >/dev/null || fail "drain h1"
old=$(cat "$dir/pids/strider-h2.pid")  # the strider the pod started for h2: it learns labels at its welcome
welcomes=$(grep -c "welcomed by sauron" "$dir/logs/strider-h2.log" || true)
kill -9 "$old"
for _ in $(seq 1 50); do kill -0 "$old" 2>/dev/null || break; sleep 0.1; done
"$pod" restart-host --dir "$dir" --host h2 --agent-only >/dev/null 2>&1 || fail "restart h2's strider"
# h2 still reads "up" from before the kill: wait for the new strider's welcome.
for _ in $(seq 1 100); do
  [ "$(grep -c "welcomed by sauron" "$dir/logs/strider-h2.log" || true)" -gt "$welcomes" ] && break
  sleep 0.1
done
app_src "$dir/src5" five
deploy "$dir/src5" "$dir/deploy-5.log" || fail "deploy 5 (on h2) exited $?"
grep -q "^-----> Build job won by h2$" "$dir/deploy-5.log" || fail "the build did not land on h2"
grep -q "^-----> Build cache: restored" "$dir/deploy-5.log" || fail "h2's build did not get the app's cache from the registry"
answers "$dir/deploy-5.log" five

# Build times from sauron's events (build.started -> build.finished), auctioned vs local.
$rv events --limit 100000 >"$dir/events-all"
build_ms() {  # build_ms N: milliseconds of build #N of the app
  awk -v n="#$1" '$3 ~ /^build\.(started|finished)$/ && $5 == n {split($2, t, /[:.]/); ms = ((t[1] * 60 + t[2]) * 60 + t[3]) * 1000 + t[4]; if ($3 == "build.started") s = ms; else e = ms} END {print e - s}' "$dir/events-all"
}
auction_ms() {  # auction_ms N: build job of build #N, job.submitted -> job.placed (first)
  awk -v j="web.build.b$1." '($3 == "job.submitted" || $3 == "job.placed") && index($0, j) {split($2, t, /[:.]/); ms = ((t[1] * 60 + t[2]) * 60 + t[3]) * 1000 + t[4]; if ($3 == "job.submitted") s = ms; else if (!e) e = ms} END {print e - s}' "$dir/events-all"
}
echo "build job submitted->placed (auction): #1 $(auction_ms 1) ms, #2 $(auction_ms 2) ms, #6 $(auction_ms 6) ms"
echo "build record open->finished: auctioned #2 $(build_ms 2) ms, #6 (other host, cache pulled) $(build_ms 6) ms; local #5 $(build_ms 5) ms"

# 6. No host may build: a clear error, nothing deployed.
$rv hosts drain h2 >/dev/null || fail "drain h2"
app_src "$dir/src6" six
timeout 120 "$RV_BUILD/deploy/rv-deploy" --pod "$dir/pod.json" --app "$app" --commit 6666666 --source "$dir/src6" \
  --user alice --build-placement-timeout-s 3 >"$dir/deploy-6.log" 2>&1 && fail "a build with no build host deployed"
grep -q "no build host (role=build) took the build job" "$dir/deploy-6.log" || fail "no clear message: $(tail -n 2 "$dir/deploy-6.log")"
$rv jobs | grep "web.build.b7" | grep -q stopped || fail "the unplaced build job was left: $($rv jobs | grep build)"
answers "$dir/deploy-5.log" five
echo "PASS"
