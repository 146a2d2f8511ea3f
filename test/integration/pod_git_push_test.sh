#!/usr/bin/env bash
# pod_git_push: `git push` over SSH deploys, end to end, on a 3-host pod of
# namespace hosts (scripts/pod up: sauron, elrond, striders, overlayd, the
# registry with stack/busybox and stack/python, gitrecv's sshd). Nothing is
# faked: gitrecv's hook runs rv-deploy, which runs the real builder (runc,
# buildpacks, the stack it chooses), records the release and rolls it out.
# The client is a plain `git` with its own ed25519 key.
#
#   1. an operator adds user alice, her key, three apps and her grant (rv)
#   2. alice pushes examples/static-site, python-app and procfile-app, each to
#      its own app: the build streams back as `remote:` lines, the python one
#      on stack/python and the others on stack/busybox (chosen by the
#      builder), and each answers HTTP at the address the push printed last
#      (asked from inside one of its containers: the overlay is per
#      environment)
#   3. a change to the python app (web=2 first): v2 replaces v1 (rv releases),
#      every v2 replica `running` before the first v1 `job.stopped` event;
#      the build cache from the registry is used (pip does not run again)
#   4. a broken push (a Procfile web that exits at once) to procfile-app: the
#      push fails, says why and that v1 still runs; main did not move; v1 answers;
#      a tree no buildpack detects is refused saying so
#   5. rv rollback of the python app: v3 runs v1's image, answers as v1 did;
#      rv config:set of the environment: a new deployed release of each app,
#      whose replicas see the var
#   6. bob (a key, no grant) can neither push to nor clone the app
#   7. the console: alice's `ssh ... run APP -- COMMAND` prints the one-off's
#      output and exits with its code, the app's secret in its environment;
#      what she pipes in is the command's stdin (and typed a line at a time
#      into the operator's `rv run`; `rv run --detach` returns at once and
#      its job stops when it ends); bob is refused; the operator's `rv run` too; no one-off is left; the
#      event log names alice and her command (the console's audit trail)
#   8. app commands over the same ssh: alice's `logs APP` prints her
#      replicas' lines, each prefixed with its job id; `logs APP -f` ends on
#      the pod when her client goes away; `ps`, `releases` and `config` (the
#      secret masked) show the app; `rollback` releases again; `config:set`
#      rolls a var out that her next one-off sees, `config:unset` takes it
#      away; `restart` replaces every replica; `domains:add` gives it a
#      custom name (not one under the pod's domain), `domains:remove` takes
#      it away; bob is refused
# Needs root and the programs below (scripts/install-deps); the python stack
# comes from this machine's cache (scripts/stack-image; 1.5-4 min the first
# time on a machine, hence the CTest timeout).
#   pod_git_push_test.sh REPO_ROOT BUILD_DIR
set -u
root=$1
export RV_BUILD=$2
. "$root/test/integration/need.bash"
need_root_and pod_git_push git ssh ssh-keygen sshd runc docker-registry ip nsenter debootstrap flock
for b in deploy/rv-deploy builder/builder gitrecv/gitrecv overlay/overlayd cli/rv; do
  [ -x "$RV_BUILD/$b" ] || { echo "FAIL: pod_git_push: $RV_BUILD/$b is not built" >&2; exit 1; }
done
dir=$(mktemp -d /tmp/rv-podgit.XXXXXX)
chmod 755 "$dir"
. "$root/test/integration/test_ports.bash"
reserve_test_ports || exit 1
pod="$root/scripts/pod"
rv="$RV_BUILD/cli/rv --pod $dir/pod.json"
env=acme/g$$
ms() { echo $((($(date +%s%N) - $1) / 1000000)); }
fail() {
  echo "FAIL: $*" >&2
  for f in "$dir"/push-*.log; do [ -e "$f" ] && { echo "--- $(basename "$f")" >&2; tail -n 30 "$f" >&2; }; done
  $rv ps >&2 || true
  $rv events --limit 40 >&2 || true
  for f in "$dir"/logs/gitrecv.log "$dir"/gitrecv/sshd.log "$dir"/logs/strider-*.log; do
    [ -e "$f" ] && { echo "--- $(basename "$f")" >&2; tail -n 10 "$f" >&2; }
  done
  exit 1
}
follow_pid=""
cleanup() {
  local t0
  [ -n "$follow_pid" ] && kill "$follow_pid" 2>/dev/null
  t0=$(date +%s%N)
  "$pod" down --dir "$dir" >/dev/null 2>&1 || true
  echo "pod down: $(ms "$t0") ms"
  t0=$(date +%s%N); rm -rf "$dir"; echo "rm: $(ms "$t0") ms"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# A hermetic git: no user or system config, a fixed author.
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=alice GIT_AUTHOR_EMAIL=alice@example.com GIT_COMMITTER_NAME=alice GIT_COMMITTER_EMAIL=alice@example.com
# as USER: the git client with USER's key, this test's known_hosts, TOFU.
as() {
  local u=$1
  shift
  GIT_SSH_COMMAND="ssh -F /dev/null -i $dir/$u.key -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile=$dir/known_hosts -o StrictHostKeyChecking=accept-new" \
    timeout 300 "$@"
}
# repo NAME EXAMPLE: a work tree of examples/EXAMPLE with one commit and the app's remote.
repo() {
  cp -r "$root/examples/$2" "$dir/w-$1"
  git -C "$dir/w-$1" init -q -b main && git -C "$dir/w-$1" add -A && git -C "$dir/w-$1" commit -qm "$2" \
    && git -C "$dir/w-$1" remote add rv "$url/$env/$1.git" || fail "cannot make the work tree of $1"
}
# push NAME LOG: alice pushes main; the push's exit code.
push() {
  as alice git -C "$dir/w-$1" push rv main >"$2" 2>&1
}
# fetch_in JOB URL: the page at URL, from inside JOB's container (wget on the
# busybox stack, python3 on the python stack).
fetch_in() {
  "$pod" exec --dir "$dir" --job "$1" -- /bin/sh -c \
    'if command -v wget >/dev/null; then exec timeout 5 wget -q -O - "$1"; fi
     exec python3 -c "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())" "$1"' \
    fetch "$2" 2>/dev/null
}
# answers NAME LOG WANT: every address on LOG's "answers at" line serves a page
# containing WANT; prints how many.
answers() {
  local app=$env/$1 from addrs a body n=0
  addrs=$(grep "answers at" "$2" | tail -n 1 | grep -o 'http://[0-9.]*:[0-9]*')
  [ -n "$addrs" ] || fail "$1: no 'answers at' line in $2"
  from=$($rv ps "$app" | awk '$7 == "running" {print $1; exit}')
  [ -n "$from" ] || fail "$1: no running replica to ask from"
  for a in $addrs; do
    body=""
    for _ in $(seq 1 20); do
      body=$(fetch_in "$from" "$a/") && [ -n "$body" ] && break
      sleep 0.2
    done
    grep -qF -- "$3" <<<"$body" || fail "$1: $a answered '$body', want it to contain '$3'"
    n=$((n + 1))
  done
  echo "$n"
}

t_all=$(date +%s%N)
"$pod" up --hosts 3 --dir "$dir" --base-port "$port" >"$dir/up.log" 2>&1 || { cat "$dir/up.log" >&2; fail "pod up"; }
[ -f "$dir/net.env" ] || fail "pod up did not use the namespace layout"
grep -q "stack/python:latest" "$dir/up.log" || fail "pod up did not push stack/python: $(cat "$dir/up.log")"
echo "pod up: $(ms "$t_all") ms ($(grep 'stack/python' "$dir/up.log" | tail -n 1))"
url=$(cat "$dir/gitrecv/url") || fail "no gitrecv url"

# 1. The operator's part.
$rv users:add alice >/dev/null || fail "users:add alice"
$rv users:add bob >/dev/null || fail "users:add bob"
for u in alice bob; do
  ssh-keygen -q -t ed25519 -N "" -C "$u" -f "$dir/$u.key" || fail "ssh-keygen $u"
  $rv keys:add "$u" "$dir/$u.key.pub" >/dev/null || fail "keys:add $u"
done
for a in static py proc; do
  $rv apps:create "$env" "$a" >"$dir/create-$a.log" || fail "apps:create $a"
done
grep -qF "git remote add rv $url/$env/py.git" "$dir/create-py.log" || fail "apps:create printed no remote: $(cat "$dir/create-py.log")"
$rv access:grant alice "$env" >/dev/null || fail "access:grant"

# 2. One push per built-in buildpack.
repo static static-site
repo py python-app
repo proc procfile-app
for a in static py proc; do
  t0=$(date +%s%N)
  push "$a" "$dir/push-$a-1.log" || fail "push of $a exited $?"
  echo "first push of $a: $(ms "$t0") ms"
  grep -q "^remote: -----> Released v1" "$dir/push-$a-1.log" || fail "$a: no 'Released v1' remote line"
done
grep -q "^remote: -----> Stack stack/python:latest chosen for the python buildpack" "$dir/push-py-1.log" || fail "py not on stack/python"
grep -q "^remote: -----> Python app detected" "$dir/push-py-1.log" || fail "py: no 'Python app detected' line"
grep -q "^remote: -----> Stack stack/busybox:latest chosen for the static buildpack" "$dir/push-static-1.log" || fail "static not on stack/busybox"
grep -q "^remote: -----> Stack stack/busybox:latest chosen for the procfile buildpack" "$dir/push-proc-1.log" || fail "proc not on stack/busybox"
! grep -q "builder: result" "$dir/push-py-1.log" || fail "the builder's result line reached the pusher"
[ "$(answers static "$dir/push-static-1.log" "<h1>static-site</h1>")" = 1 ] || fail "static-site does not answer"
[ "$(answers py "$dir/push-py-1.log" "with rvgreet 1.0 installed from a vendored wheel")" = 1 ] || fail "python-app does not answer"
[ "$(answers proc "$dir/push-proc-1.log" "<h1>procfile-app</h1>")" = 1 ] || fail "procfile-app does not answer"
$rv builds "$env/py" | awk '$1 == 1' | grep -q succeeded || fail "build 1 of py not recorded as succeeded"
$rv builds:output "$env/py" 1 | grep -q "Python app detected" || fail "build 1's output not recorded"

# 3. A change replaces the release, new replicas running before old ones stop.
# `rv logs APP -f` runs throughout and follows the replicas placed meanwhile.
$rv logs "$env/py" -f >"$dir/follow-py.out" 2>"$dir/follow-py.err" &
follow_pid=$!
$rv ps:scale "$env/py" web=2 >"$dir/scale.log" 2>&1 || fail "ps:scale web=2: $(tail -n 3 "$dir/scale.log")"
[ "$($rv ps "$env/py" | awk 'NR > 1 && $7 == "running"' | wc -l)" = 2 ] || fail "not 2 running py replicas after ps:scale"
[ "$($rv ps "$env/py" | awk 'NR > 1 {print $6}' | sort -u | wc -l)" = 2 ] || fail "the two web replicas share a host (HA)"
seq0=$($rv counters | awk '$1 == "events.last_seq" {print $2}')
sed -i 's/^APP = "python-app"$/APP = "python-app-v2"/' "$dir/w-py/app.py"
grep -q 'python-app-v2' "$dir/w-py/app.py" || fail "cannot change app.py"
git -C "$dir/w-py" commit -qam "v2" || fail "commit v2"
t0=$(date +%s%N)
push py "$dir/push-py-2.log" || fail "push of the change exited $?"
echo "warm push of py (a one-line change, 2 replicas): $(ms "$t0") ms"
grep -q "^remote: -----> Released v2" "$dir/push-py-2.log" || fail "the change did not release v2"
grep -q "^remote: -----> Build cache: restored" "$dir/push-py-2.log" || fail "the second build did not get the build cache"
grep -q "^remote: .*cache hit" "$dir/push-py-2.log" || fail "pip ran again on the second build (no cache hit)"
for _ in $(seq 1 50); do grep -q "\.py\.web\.v2\..* python-app-v2 listening" "$dir/follow-py.out" && break; sleep 0.1; done
kill "$follow_pid"
wait "$follow_pid" 2>/dev/null
follow_pid=""
grep -q "\.py\.web\.v2\..* python-app-v2 listening" "$dir/follow-py.out" \
  || fail "rv logs -f did not follow v2's new replicas: $(tail -n 5 "$dir/follow-py.out") / $(cat "$dir/follow-py.err")"
grep -q "^rv: following .*\.py\.web\.v2\." "$dir/follow-py.err" || fail "rv logs -f did not say it follows v2's replicas"
echo "rv logs $env/py -f through ps:scale and a push: $(wc -l <"$dir/follow-py.out") lines, $(grep -c following "$dir/follow-py.err") jobs joined"
$rv releases "$env/py" | grep -E '^\* +v2 +deployed' >/dev/null || fail "v2 is not the deployed release: $($rv releases "$env/py")"
[ "$(answers py "$dir/push-py-2.log" "<h1>python-app-v2</h1>")" = 2 ] || fail "v2 does not answer on 2 replicas"
$rv events --limit 100000 | awk -v s="$seq0" '$1 > s' >"$dir/events-2"
id=${env//\//.}.py.web
last_v2_running=$(awk -v p="job=$id.v2." '$3 == "job.state" && index($0, p) && $6 ~ /^running/ {n = $1} END {print n + 0}' "$dir/events-2")
first_v1_stop=$(awk -v p="job=$id.v1." '$3 == "job.stopped" && index($0, p) {print $1; exit}' "$dir/events-2")
[ "$last_v2_running" -gt 0 ] && [ -n "$first_v1_stop" ] || fail "no v2 running / v1 stopped events: $(cat "$dir/events-2")"
[ "$last_v2_running" -lt "$first_v1_stop" ] || fail "a v1 replica stopped (event $first_v1_stop) before every v2 one ran ($last_v2_running)"
[ "$(awk -v p="job=$id.v2." '$3 == "job.state" && index($0, p) && $6 ~ /^running/' "$dir/events-2" | wc -l)" -ge 2 ] \
  || fail "fewer than 2 v2 running events"
[ "$($rv ps "$env/py" | awk 'NR > 1 {print $3}' | sort -u)" = v2 ] || fail "not only v2 runs"

# 4. A broken push fails, says why, and leaves v1 serving and main where it was.
old=$(git -C "$dir/w-proc" rev-parse HEAD)
printf 'web: echo "this web process exits at once"; exit 1\n' >"$dir/w-proc/Procfile"
git -C "$dir/w-proc" commit -qam "broken" || fail "commit broken"
t0=$(date +%s%N)
push proc "$dir/push-proc-2.log" && fail "the broken push succeeded"
echo "broken push refused in $(ms "$t0") ms"
grep -q "^remote: -----> Deploy failed: v2: v2 web replica 1 crashed at boot.*; v1 still runs" "$dir/push-proc-2.log" \
  || fail "no clear failure line: $(grep 'remote:' "$dir/push-proc-2.log" | tail -n 3)"
grep -q "deploy of $env/proc failed (exit 1); main stays at ${old:0:12}" "$dir/push-proc-2.log" \
  || fail "gitrecv did not say main stays: $(tail -n 4 "$dir/push-proc-2.log")"
[ "$(as alice git ls-remote "$url/$env/proc.git" refs/heads/main | cut -f1)" = "$old" ] || fail "main moved on a failed deploy"
[ "$(answers proc "$dir/push-proc-1.log" "<h1>procfile-app</h1>")" = 1 ] || fail "v1 stopped answering after the broken push"
$rv releases "$env/proc" | grep -E ' v2 +failed' >/dev/null || fail "v2 of proc not recorded as failed"

# A tree no buildpack detects: refused before any container runs, saying why.
mkdir -p "$dir/w-none" && echo "just words" >"$dir/w-none/README"
git -C "$dir/w-none" init -q -b main && git -C "$dir/w-none" add -A && git -C "$dir/w-none" commit -qm none \
  && git -C "$dir/w-none" remote add rv "$url/$env/none.git" || fail "cannot make the work tree of none"
$rv apps:create "$env" none >/dev/null || fail "apps:create none"
push none "$dir/push-none.log" && fail "a push no buildpack detects succeeded"
grep -q "^remote: -----> Deploy failed: build #1 failed: no buildpack detected this app" "$dir/push-none.log" \
  || fail "no clear message for an undetectable tree: $(grep 'remote:' "$dir/push-none.log" | tail -n 3)"

# 5. Rollback: v3 runs v1's image without a build.
$rv rollback "$env/py" v1 --boot-timeout-s 60 >"$dir/push-rollback.log" 2>&1 || fail "rollback exited $?"
grep -q "^-----> Released v3" "$dir/push-rollback.log" || fail "rollback did not release v3"
$rv builds "$env/py" | awk 'NR > 1' | wc -l | grep -qx 2 || fail "rollback made a build"
page=$(answers py "$dir/push-rollback.log" "<h1>python-app</h1>") || exit 1
[ "$page" = 2 ] || fail "v3 (v1's image) does not answer on 2 replicas"

# A config change is a release of every app of the environment that each
# replica sees (in its environment, through the builder's image and launch).
$rv config:set "$env" GREETING="hi-$$" >"$dir/push-config.log" 2>&1 || fail "config:set exited $?: $(tail -n 3 "$dir/push-config.log")"
for a in static py; do
  $rv releases "$env/$a" | grep -E '^\* +v[0-9]+ +deployed' | grep -q "config set GREETING" \
    || fail "$a: config:set made no deployed release: $($rv releases "$env/$a")"
  j=$($rv ps "$env/$a" | awk '$7 == "running" {print $1; exit}')
  [ "$("$pod" exec --dir "$dir" --job "$j" -- /bin/sh -c 'echo "$GREETING"' 2>/dev/null)" = "hi-$$" ] \
    || fail "$a's replica $j does not see GREETING"
done
# py's part of the output (config:set rolls out each app in turn).
awk -v h="-----> $env/py:" '/^-----> [a-z0-9-]+\/[a-z0-9-]+\/[a-z0-9-]+: v[0-9]/ {on = index($0, h) == 1} on' \
  "$dir/push-config.log" >"$dir/push-config-py.log"
[ "$(answers py "$dir/push-config-py.log" "<h1>python-app</h1>")" = 2 ] || fail "py does not answer after config:set"

# A secret reaches the app's replicas and nowhere else: not a build's output,
# the push, the registry's images, the git repos, sauron's database or the logs.
secret="s3cr3t-value-$$-x"
$rv config:set "$env" API_TOKEN="$secret" --secret >"$dir/push-secret.log" 2>&1 \
  || fail "config:set --secret exited $?: $(tail -n 3 "$dir/push-secret.log")"
echo "# after the secret" >>"$dir/w-py/app.py"
git -C "$dir/w-py" commit -qam "after the secret" || fail "commit after the secret"
push py "$dir/push-py-secret.log" || fail "push after the secret exited $?: $(tail -n 5 "$dir/push-py-secret.log")"
j=$($rv ps "$env/py" | awk '$7 == "running" {print $1; exit}')
[ "$("$pod" exec --dir "$dir" --job "$j" -- /bin/sh -c 'echo "$API_TOKEN"' 2>/dev/null)" = "$secret" ] \
  || fail "py's replica $j does not see the secret"
n=$($rv builds "$env/py" | awk 'NR > 1 {print $1}' | sort -n | tail -n 1)
$rv builds:output "$env/py" "$n" >"$dir/build-after-secret.out" || fail "builds:output $n"
for where in "$dir/push-secret.log" "$dir/push-py-secret.log" "$dir/build-after-secret.out" "$dir/registry" \
    "$dir/gitrecv/repos" "$dir/logs" "$dir"/*.db*; do
  [ -e "$where" ] || continue
  if grep -rqF -- "$secret" "$where"; then fail "the secret is in $where"; fi
done
echo "secret: seen by the replica; not in the build output, push, registry, git repos, sauron's db or the logs"

# 6. bob has a key but no grant: neither push nor clone.
running=$($rv ps "$env/py" | awk 'NR > 1 {print $3}' | sort -u)
as bob git -C "$dir/w-py" push "$url/$env/py.git" HEAD:main >"$dir/push-bob.log" 2>&1 && fail "bob pushed"
grep -q "user bob has no access to $env/py" "$dir/push-bob.log" || fail "bob's push refused without a clear message: $(cat "$dir/push-bob.log")"
as bob git clone -q "$url/$env/py.git" "$dir/bob-clone" >"$dir/clone-bob.log" 2>&1 && fail "bob cloned"
grep -q "user bob has no access to $env/py" "$dir/clone-bob.log" || fail "bob's clone refused without a clear message: $(cat "$dir/clone-bob.log")"
[ ! -e "$dir/bob-clone/app.py" ] || fail "bob's clone has files"
as alice git clone -q "$url/$env/py.git" "$dir/alice-clone" >/dev/null 2>&1 || fail "alice cannot clone her app"
[ "$($rv ps "$env/py" | awk 'NR > 1 {print $3}' | sort -u)" = "$running" ] || fail "bob's attempts changed what runs"
# 7. The console: alice runs a one-off command in py's current release over
# the git server's ssh (`run APP -- COMMAND`), sees its output and its exit
# code, and its environment has the app's secret; what she pipes in is the
# command's input; bob is refused; the operator's `rv run` does the same,
# its input typed a line at a time; no one-off is left running.
console() {  # console USER ARGS...: a raw ssh session to the git server
  local u=$1 hp=${url#ssh://rvgit@}
  shift
  timeout "${console_timeout:-120}" ssh -F /dev/null -i "$dir/$u.key" -p "${hp##*:}" -o IdentitiesOnly=yes -o BatchMode=yes \
    -o UserKnownHostsFile="$dir/known_hosts" -o StrictHostKeyChecking=accept-new "rvgit@${hp%:*}" "$@" <"${console_stdin:-/dev/null}"
}
t0=$(date +%s%N)
console alice run "$env/py" -- 'python3 -c "print(6*7)"; echo "user=$RV_RUN_USER token=${#API_TOKEN}"; exit 4' \
  >"$dir/console.out" 2>"$dir/console.err"
rc=$?
[ "$rc" = 4 ] || fail "the console returned $rc, not the command's 4: $(cat "$dir/console.err")"
grep -qx 42 "$dir/console.out" || fail "the console's output lacks the command's: $(cat "$dir/console.out")"
grep -qx "user=alice token=${#secret}" "$dir/console.out" || fail "the one-off did not run for alice with the app's secret: $(cat "$dir/console.out")"
grep -q -- "-----> Running .* on $env/py v[0-9]* for alice" "$dir/console.err" || fail "the console said no progress: $(cat "$dir/console.err")"
echo "console: ssh run -> output and exit code in $(ms "$t0") ms"
$rv events --limit 200 | grep -q "job.submitted .*console for alice: .*print(6\*7)" \
  || fail "the event log does not say alice ran the command: $($rv events --limit 200 | grep console)"
console bob run "$env/py" -- id >"$dir/console-bob.out" 2>&1 && fail "bob ran a command in alice's app"
grep -q "user bob has no access to $env/py" "$dir/console-bob.out" || fail "bob's console refused without a clear message: $(cat "$dir/console-bob.out")"
# Input: what alice pipes in reaches the command; its end closes the command's stdin.
printf 'print(6*7)\nprint("bye")\n' >"$dir/console.in"
t0=$(date +%s%N)
got=$(console_stdin="$dir/console.in" console alice run "$env/py" -- python3 2>"$dir/console-in.err" | tr '\n' ' ')
[ "$got" = "42 bye " ] || fail "the console's command did not read alice's input: '$got' $(tail -n 3 "$dir/console-in.err")"
echo "console: ssh run with piped input -> '$got' in $(ms "$t0") ms"
# The operator's rv run, a line at a time: the command answers the first
# line before the second is typed, and the end of input ends it.
mkfifo "$dir/run.in"
$rv run "$env/py" -- "python3 -u -c \"import sys; [print('got', l.strip()) for l in sys.stdin]\"" \
  <"$dir/run.in" >"$dir/run-input.out" 2>"$dir/run-input.err" &
run_pid=$!
exec 7>"$dir/run.in"
t0=$(date +%s%N)
echo one >&7
for _ in $(seq 1 300); do grep -q "^got one$" "$dir/run-input.out" && break; sleep 0.1; done
grep -q "^got one$" "$dir/run-input.out" || fail "rv run's command did not answer the first line: $(tail -n 3 "$dir/run-input.err")"
t1=$(date +%s%N)
echo two >&7
for _ in $(seq 1 100); do grep -q "^got two$" "$dir/run-input.out" && break; sleep 0.1; done
echo "rv run with typed input: first answer $(ms "$t0") ms (the job's start included), the next $(ms "$t1") ms"
exec 7>&-
wait "$run_pid" || fail "rv run with input exited $?: $(tail -n 3 "$dir/run-input.err")"
[ "$(tr '\n' ' ' <"$dir/run-input.out")" = "got one got two " ] || fail "rv run's command read: $(cat "$dir/run-input.out")"
# Detached: rv returns while the command runs; its job stops by itself when
# it ends, and its log stays readable.
t0=$(date +%s%N)
id=$($rv run --detach "$env/py" -- 'sleep 2; echo detached-ran' 2>"$dir/detach.err") || fail "rv run --detach: $(cat "$dir/detach.err")"
echo "rv run --detach: returned in $(ms "$t0") ms with $id"
[ "$($rv jobs | awk -v j="$id" '$1 == j {print $3}')" = placed ] || fail "the detached one-off is not running: $($rv jobs | grep "$id")"
for _ in $(seq 1 100); do [ "$($rv jobs | awk -v j="$id" '$1 == j {print $3}')" = stopped ] && break; sleep 0.1; done
[ "$($rv jobs | awk -v j="$id" '$1 == j {print $3}')" = stopped ] || fail "the detached one-off's job was not stopped when it ended"
$rv logs "$id" | grep -qx detached-ran || fail "the detached one-off's log: $($rv logs "$id" 2>&1 | tail -n 3)"
# `rv logs APP -f` shows even a one-off that ran between two of its listings.
$rv logs "$env/py" -f >"$dir/follow-run.out" 2>&1 &
follow_pid=$!
sleep 1
[ "$($rv run "$env/py" -- 'echo admin-ran' 2>/dev/null)" = admin-ran ] || fail "rv run did not print the command's output"
for _ in $(seq 1 50); do grep -q "\.py\.run\..* admin-ran$" "$dir/follow-run.out" && break; sleep 0.1; done
kill "$follow_pid"
wait "$follow_pid" 2>/dev/null
follow_pid=""
grep -q "\.py\.run\..* admin-ran$" "$dir/follow-run.out" || fail "rv logs -f missed a short one-off: $(tail -n 5 "$dir/follow-run.out")"
[ -z "$($rv ps "$env/py" | awk '$2 == "run"')" ] || fail "a one-off job is left: $($rv ps "$env/py")"

# 8. App commands: what alice may see and do with her app over the same ssh.
t0=$(date +%s%N)
console alice logs "$env/py" >"$dir/view-logs.out" 2>"$dir/view-logs.err" || fail "ssh logs: $(cat "$dir/view-logs.err")"
echo "views: ssh logs -> $(wc -l <"$dir/view-logs.out") lines in $(ms "$t0") ms"
grep -q "^${env//\//.}\.py\.web\.v[0-9]*\.[0-9]*\.[0-9a-z]* .*listening on port" "$dir/view-logs.out" \
  || fail "ssh logs lacks a replica's line prefixed with its job id: $(head -n 5 "$dir/view-logs.out")"
console alice ps "$env/py" | grep -q " running" || fail "ssh ps shows no running replica"
console alice releases "$env/py" | grep -q "^\* *v[0-9]" || fail "ssh releases shows no current release: $(console alice releases "$env/py")"
console_timeout=4 console alice logs "$env/py" -f >"$dir/view-follow.out" 2>&1 &  # then her ssh client ends
follow_pid=$!
sleep 2
pgrep -f "rv .*logs $env/py --safe -f" >/dev/null || fail "no rv logs -f runs for alice's ssh logs -f"
wait "$follow_pid"
follow_pid=""
grep -q "listening on port" "$dir/view-follow.out" || fail "ssh logs -f printed nothing: $(cat "$dir/view-follow.out")"
gone=""
for _ in $(seq 1 50); do pgrep -f "rv .*logs $env/py --safe -f" >/dev/null || { gone=1; break; }; sleep 0.1; done
[ -n "$gone" ] || fail "rv logs -f went on after alice's client went away: $(pgrep -af "logs $env/py --safe -f")"
console bob logs "$env/py" >"$dir/view-bob.out" 2>&1 && fail "bob read alice's app's logs"
grep -q "user bob has no access to $env/py" "$dir/view-bob.out" || fail "bob's logs refused without a clear message: $(cat "$dir/view-bob.out")"
console alice config "$env/py" | grep -q "API_TOKEN .*secret" || fail "ssh config does not show the env's vars, the secret masked"
! console alice config "$env/py" | grep -qF "$secret" || fail "ssh config shows the secret's value"
before=$($rv releases "$env/py" | awk '$1 == "*" {print $2}')
t0=$(date +%s%N)
console alice rollback "$env/py" >"$dir/rollback.out" 2>&1 || fail "alice's ssh rollback: $(tail -n 5 "$dir/rollback.out")"
echo "ssh rollback: $(ms "$t0") ms"
after=$($rv releases "$env/py" | awk '$1 == "*" {print $2}')
[ -n "$after" ] && [ "$after" != "$before" ] || fail "ssh rollback released nothing new ($before -> $after): $(cat "$dir/rollback.out")"
grep -q "^-----> Released $after" "$dir/rollback.out" || fail "ssh rollback said no release: $(cat "$dir/rollback.out")"
console bob rollback "$env/py" >"$dir/rollback-bob.out" 2>&1 && fail "bob rolled alice's app back"
# Her config over ssh: its environment's vars, rolled out as rv config:set does.
t0=$(date +%s%N)
ssh_secret="ssh-$RANDOM$RANDOM-secret"
console alice config:set "$env/py" --secret "FROM_SSH=$ssh_secret" >"$dir/config-set.out" 2>&1 \
  || fail "alice's ssh config:set: $(tail -n 5 "$dir/config-set.out")"
echo "ssh config:set (rolled out): $(ms "$t0") ms"
grep -q "^set FROM_SSH on $env (secret);" "$dir/config-set.out" || fail "ssh config:set said nothing of the var: $(cat "$dir/config-set.out")"
[ "$(console alice run "$env/py" -- 'echo $FROM_SSH' 2>/dev/null)" = "$ssh_secret" ] \
  || fail "a one-off after ssh config:set does not see the var"
for where in "$dir/gitrecv" "$dir/logs" "$dir"/*.db*; do  # sshd's log, gitrecv's, sauron's events
  [ -e "$where" ] || continue
  if grep -rqF -- "$ssh_secret" "$where"; then fail "ssh config:set's secret value is in $where"; fi
done
console alice config:unset "$env/py" FROM_SSH >"$dir/config-unset.out" 2>&1 \
  || fail "alice's ssh config:unset: $(tail -n 5 "$dir/config-unset.out")"
# Her restart: every replica replaced (a release of the same image, by her).
old_jobs=$($rv ps "$env/py" | awk '$2 == "web" {print $1}' | sort | tr '\n' ' ')
t0=$(date +%s%N)
console alice restart "$env/py" >"$dir/restart.out" 2>&1 || fail "alice's ssh restart: $(tail -n 5 "$dir/restart.out")"
echo "ssh restart: $(ms "$t0") ms"
new_jobs=$($rv ps "$env/py" | awk '$2 == "web" {print $1}' | sort | tr '\n' ' ')
[ -n "$new_jobs" ] && [ -z "$(comm -12 <(tr ' ' '\n' <<<"$old_jobs" | sed '/^$/d') <(tr ' ' '\n' <<<"$new_jobs" | sed '/^$/d'))" ] \
  || fail "ssh restart left a replica in place: $old_jobs -> $new_jobs"
$rv releases "$env/py" | awk '$1 == "*"' | grep -q " alice .*restart of v" \
  || fail "the current release is not alice's restart: $($rv releases "$env/py" | head -n 3)"
# Her custom domain: added (a pod-CA certificate), listed, removed; the
# pod's own names are not hers to take.
shop="shop-$RANDOM.example.com"
console alice domains:add "$env/py" "$shop" >"$dir/domains-add.out" 2>&1 || fail "alice's ssh domains:add: $(cat "$dir/domains-add.out")"
console alice domains "$env/py" | grep -q "^$shop " || fail "ssh domains does not list $shop: $(console alice domains "$env/py")"
console alice domains:add "$env/py" "x.${env//\//.}.${RV_POD_DOMAIN:-rivendell.test}" >"$dir/domains-pod.out" 2>&1 \
  && fail "alice took a name under the pod's domain"
grep -q "under the pod domain" "$dir/domains-pod.out" || fail "a pod-domain name refused unclearly: $(cat "$dir/domains-pod.out")"
console alice domains:remove "$env/py" "$shop" >"$dir/domains-rm.out" 2>&1 || fail "alice's ssh domains:remove: $(cat "$dir/domains-rm.out")"
! console alice domains "$env/py" | grep -q "^$shop " || fail "ssh domains:remove left $shop"
console bob config:set "$env/py" FROM_SSH=bob >"$dir/config-bob.out" 2>&1 && fail "bob set alice's env's config"
grep -q "user bob has no access to $env/py" "$dir/config-bob.out" || fail "bob's config:set refused unclearly: $(cat "$dir/config-bob.out")"

echo "total (pod up to here): $(ms "$t_all") ms"
echo "PASS: pod_git_push"
