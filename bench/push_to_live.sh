#!/usr/bin/env bash
# Push-to-live benchmark (issue 17). Needs root, runc, docker-registry,
# openssh-server, git, debootstrap (the python stack), python3.
#
#   bench/run push_to_live [--runs N] [--quick]      (--quick: 3 runs)
#
# A 2-host namespace pod (scripts/pod up), its git server (gitrecv: sshd +
# hook + deploy runner), examples/python-app pushed over SSH with a plain git
# client. Push-to-live = `git push` starts -> the push returned, which is after
# rv-deploy saw the new release healthy (and, for a change, asked the old one
# to stop). Per run, interleaved so the machine's drift lands on every kind:
#   first   a new app's first push: stack cached (the builder's state dir and
#           both hosts), no build cache, nothing running yet
#   warm    a one-line change to app.py of an app already running (v(n) -> v(n+1)),
#           build cache warm (rv-deploy keeps it in the registry)
#   warm1cpu  the same on a second app deployed with --cpu-millis 1000: the
#           default replica gets 0.1 core (a CFS quota), which Python's boot feels
#   plain   the floor: the same change pushed over the same sshd, gitrecv shell,
#           receive-pack, hook and deploy runner to an app whose on-push does nothing
# and once, after the runs, the other floor: a warm container start of the
# warm app's last image (bench/container_start's helper: runc start of a cached
# image, to "running" and to "port answers").
# Steps come from timestamps that exist: the on-push wrapper stamps each line
# rv-deploy prints, the builder's result (`steps`, from the build record), the
# striders' log lines. See docs/PERFORMANCE.md "Push to live".
# Writes bench/results/push_to_live.json.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${RV_BUILD:-$root/build-bench}
runs=${RUNS:-10}
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --quick) runs=3; shift ;;
    *) echo "push_to_live: unknown argument '$1' (--runs N, --quick)" >&2; exit 2 ;;
  esac
done
case "$runs" in ''|*[!0-9]*|0) echo "push_to_live: --runs must be a positive number" >&2; exit 2 ;; esac
[ "$(id -u)" = 0 ] || { echo "push_to_live: needs root" >&2; exit 1; }
for b in cli/rv gitrecv/gitrecv deploy/rv-deploy builder/builder common/oci/rv-image bench/container_start/rv-container-bench; do
  [ -x "$build/$b" ] || { echo "push_to_live: build $b in $build first" >&2; exit 1; }
done
for t in git ssh ssh-keygen /usr/sbin/sshd python3; do command -v "$t" >/dev/null || { echo "push_to_live: needs $t" >&2; exit 1; }; done
. "$root/test/integration/test_ports.bash"
reserve_test_ports || exit 1
dir=$(mktemp -d /tmp/rv-bench-p2l.XXXXXX)
chmod 755 "$dir"
rv="$build/cli/rv --pod $dir/pod.json"
started=$(date +%s)
loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)
cleanup() {
  # RV_BENCH_KEEP=DIR keeps the pod's logs and the stamped deploy output.
  [ -n "${RV_BENCH_KEEP:-}" ] && mkdir -p "$RV_BENCH_KEEP" && cp -r "$dir/logs" "$dir/steps" "$dir/pushes.txt" "$RV_BENCH_KEEP/" 2>/dev/null
  RV_BUILD=$build "$root/scripts/pod" down --dir "$dir" >/dev/null 2>&1 || true
  for m in $(awk -v w="$dir/" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r); do umount -l "$m" 2>/dev/null; done
  rm -rf "$dir"
}
trap cleanup EXIT
die() { echo "push_to_live: $*" >&2; exit 1; }
now() { date +%s.%N; }
say() { echo "push_to_live: $*" >&2; }

# ---- the pod, the python stack, the git server's on-push ----
t=$(now)
RV_BUILD=$build "$root/scripts/pod" up --hosts 2 --dir "$dir" --base-port "$port" >"$dir/pod-up.log" 2>&1 \
  || { cat "$dir/pod-up.log" >&2; die "pod up failed"; }
listen=$(sed -n 's|.*"api": "tcp://\([0-9.]*\):.*|\1|p' "$dir/pod.json" | head -1)
registry=$listen:$((port + 20))
git_url=ssh://rvgit@$listen:$((port + 30))
pod_up_s=$(python3 -c "print(round($(now) - $t, 1))")
t=$(now)
RV_IMAGE=$build/common/oci/rv-image "$root/scripts/stack-image" --python --registry "$registry" >"$dir/stack.log" 2>&1 \
  || { tail -n 20 "$dir/stack.log" >&2; die "stack/python failed"; }
stack_s=$(python3 -c "print(round($(now) - $t, 1))")
say "pod up in ${pod_up_s} s, stack/python in its registry (${stack_s} s more)"

# The on-push: rv-deploy with the python stack, each line it prints stamped
# (bash's EPOCHREALTIME, same clock as the client's) into steps/APP-COMMIT.log;
# the floor app deploys nothing; app wc gets one core per replica instead of
# rv-deploy's default 0.1 (--cpu-millis 1000).
mkdir -p "$dir/steps" "$dir/client" "$dir/src"
cat >"$dir/on-push" <<EOF
#!/bin/bash
app="" commit=""
for ((i = 1; i < \$#; i++)); do
  j=\$((i + 1))
  case "\${!i}" in --app) app=\${!j} ;; --commit) commit=\${!j} ;; esac
done
log=$dir/steps/\${app//\//.}-\$commit.log
echo "\$EPOCHREALTIME on-push start" >"\$log"
if [ "\$app" = bench/prod/floor ]; then echo "\$EPOCHREALTIME on-push end 0" >>"\$log"; exit 0; fi
extra=()
[ "\$app" = bench/prod/wc ] && extra=(--cpu-millis 1000)
$build/deploy/rv-deploy --pod $dir/pod.json "\${extra[@]}" "\$@" 2>&1 |
  while IFS= read -r l; do printf '%s %s\n' "\$EPOCHREALTIME" "\$l" >>"\$log"; printf '%s\n' "\$l"; done
rc=\${PIPESTATUS[0]}
echo "\$EPOCHREALTIME on-push end \$rc" >>"\$log"
exit \$rc
EOF
chmod 755 "$dir/on-push"
"$build/gitrecv/gitrecv" setup --pod "$dir/pod.json" --dir "$dir/gitrecv" --port "$((port + 30))" --listen "$listen" \
  --on-push "$dir/on-push" >>"$dir/logs/gitrecv-setup.log" 2>&1 || die "gitrecv setup failed (see $dir/logs/gitrecv-setup.log)"
# `gitrecv run` reads its config once: restart the one `pod up` started.
gpid=$(cat "$dir/pids/gitrecv.pid")
kill "$gpid" 2>/dev/null
for _ in $(seq 1 100); do kill -0 "$gpid" 2>/dev/null || break; sleep 0.1; done
setsid "$build/gitrecv/gitrecv" run --dir "$dir/gitrecv" >>"$dir/logs/gitrecv.log" 2>&1 </dev/null &
echo $! >"$dir/pids/gitrecv.pid"
for _ in $(seq 1 100); do [ -n "$(ss -Hltn "sport = :$((port + 30))")" ] && break; sleep 0.1; done

ssh-keygen -q -t ed25519 -N '' -C bench -f "$dir/client/key" || die "ssh-keygen"
{ $rv users:add bench && $rv keys:add bench "$dir/client/key.pub" && $rv access:grant bench bench/prod; } >/dev/null || die "user setup"
export GIT_SSH_COMMAND="ssh -F /dev/null -i $dir/client/key -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.invalid GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.invalid

newrepo() {  # newrepo APP: a git repo of examples/python-app named APP, remote rv
  $rv apps:create bench/prod "$1" >/dev/null || die "apps:create $1"
  mkdir -p "$dir/src/$1"
  cp -r "$root/examples/python-app/." "$dir/src/$1/"
  sed -i "s/^APP = .*/APP = \"python-app $1\"/" "$dir/src/$1/app.py"
  (cd "$dir/src/$1" && git init -q -b main && git add -A && git commit -qm "python-app $1" &&
    git remote add rv "$git_url/bench/prod/$1.git") || die "git init $1"
}
timed_push() {  # timed_push APP REMOTE KIND: one timed push; appends "KIND APP COMMIT T0 T1" to pushes.txt
  local t0 t1 c
  c=$(git -C "$dir/src/$1" rev-parse HEAD)
  t0=$(now)
  git -C "$dir/src/$1" push -q "$2" HEAD:main >"$dir/push-$3-$1-$c.out" 2>&1 || { tail -n 20 "$dir/push-$3-$1-$c.out" >&2; die "$3 push of $1 failed"; }
  t1=$(now)
  local app=$1
  [ "$2" = floor ] && app=floor
  echo "$3 $app $c $t0 $t1" >>"$dir/pushes.txt"
  python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$t0" "$t1"
}
change() {  # change APP N: the one-line change
  sed -i "s/^APP = .*/APP = \"python-app $1 change $2\"/" "$dir/src/$1/app.py"
  git -C "$dir/src/$1" commit -qam "change $2" || die "commit"
}

# Warm-up (not timed): the stack on both hosts (a 2-replica HA job of it), the
# warm app's first release and one change (the builder's stack and the build
# cache filled), the floor app's repo.
$rv submit --service stackwarm --replicas 2 --ha --image stack/python:latest --ram-mb 32 --restart never -- /bin/true >/dev/null \
  || die "submit stackwarm"
for _ in $(seq 1 600); do [ "$($rv ps 2>/dev/null | grep -c '^stackwarm-.*exited (code 0)')" = 2 ] && break; sleep 0.2; done
[ "$($rv ps 2>/dev/null | grep -c '^stackwarm-.*exited (code 0)')" = 2 ] || die "the stack did not reach both hosts"
# An exited job still holds its reservation (and was seen re-queued to make room).
$rv stop stackwarm-1 stackwarm-2 >/dev/null || die "stop stackwarm"
for a in w wc; do
  newrepo $a
  timed_push $a rv warmup >/dev/null
  change $a 0
  timed_push $a rv warmup >/dev/null
done
$rv apps:create bench/prod floor >/dev/null || die "apps:create floor"
git -C "$dir/src/w" remote add floor "$git_url/bench/prod/floor.git"
git -C "$dir/src/w" push -q floor HEAD:main >/dev/null 2>&1 || die "floor push failed"
: >"$dir/pushes.txt"
say "warm-up done; $runs runs of first / warm / plain pushes"

for i in $(seq 1 "$runs"); do
  newrepo "f$i"
  f=$(timed_push "f$i" rv first)
  # The first-push app goes, so every run sees the same pod.
  $rv stop $($rv ps "bench/prod/f$i" 2>/dev/null | awk 'NR > 1 {print $1}') >/dev/null 2>&1 || true
  change w "$i"
  w=$(timed_push w rv warm)
  p=$(timed_push w floor plain)
  change wc "$i"
  wc=$(timed_push wc rv warm1cpu)
  printf 'run %2d: first %6s s   warm %6s s   warm, 1 core %6s s   plain git push %6s s\n' "$i" "$f" "$w" "$wc" "$p"
done

# The container floor: warm starts of the warm app's last image on this host.
image=$($rv builds bench/prod/w 2>/dev/null | grep -o 'apps/bench/prod/w@sha256:[0-9a-f]*' | head -1)
[ -n "$image" ] || die "no image of bench/prod/w"
"$build/bench/container_start/rv-container-bench" --registry "$registry" --dir "$dir/cstart" --image "$image" \
  --base stack/busybox:latest --runs "$runs" 2>"$dir/cstart.err" | grep '^{' >"$dir/cstart.json"
[ -s "$dir/cstart.json" ] || { cat "$dir/cstart.err" >&2; die "warm container start failed"; }

# Each build's result line (its steps) from the build record.
while read -r kind app c _; do
  [ "$app" = floor ] && continue
  n=$($rv builds "bench/prod/$app" 2>/dev/null | awk -v c="${c:0:7}" '$3 == c {print $1; exit}')
  [ -n "$n" ] && $rv builds:output "bench/prod/$app" "$n" 2>/dev/null | grep '^builder: result ' | tail -1 |
    sed "s/^builder: result /$app $c /" >>"$dir/results.txt"
done <"$dir/pushes.txt"
loadavg=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$dir" "$here/results/push_to_live.json" "$runs" "$stack_s" "$(($(date +%s) - started))" "$loadavg" "$pod_up_s" "$loadavg_start" <<'PY'
import datetime, glob, json, re, statistics, sys, time
d, out, runs, stack_s, bench_s, loadavg, pod_up_s, loadavg_start = sys.argv[1:]
runs = int(runs)
pushes = [l.split() for l in open(f"{d}/pushes.txt")]
results = {}
for l in open(f"{d}/results.txt"):
    app, c, js = l.split(" ", 2)
    results[(app, c)] = json.loads(js)
# Striders' log lines: "2026-12-04T09:55:57.795 strider info [h1] ..." (local time).
strider = []
for p in glob.glob(f"{d}/logs/strider-h*.log"):
    for l in open(p, errors="replace"):
        m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+) (.*)", l)
        if m:
            t = time.mktime(datetime.datetime.strptime(m.group(1)[:19], "%Y-%m-%dT%H:%M:%S").timetuple())
            strider.append((t + float("0." + m.group(1)[20:]), m.group(2)))
strider.sort()

def first(pred, after=0.0):
    for t, l in strider:
        if t >= after - 0.002 and pred(l):
            return t
    return None

def analyse(kind, app, c, t0, t1):
    t0, t1 = float(t0), float(t1)
    lines = []
    for l in open(f"{d}/steps/bench.prod.{app}-{c}.log"):
        ts, _, text = l.rstrip("\n").partition(" ")
        lines.append((float(ts), text))
    def at(prefix, has=""):
        for ts, text in lines:
            if text.startswith(prefix) and has in text:
                return ts
        return None
    s = {"total": t1 - t0}
    hook, end = lines[0][0], lines[-1][0]
    s["ssh_receive"] = hook - t0
    if app == "floor":
        s["push_return"] = t1 - hook
        return s
    # rv-deploy's own lines (the builder's "-----> Image REPO:TAG: ..." comes before its end).
    building, image = at("-----> Building bench/", "(build #"), at("-----> Image apps/", "@sha256:")
    starting, released, cut = at("-----> Starting "), at("-----> Released v"), at("-----> v")
    m = re.search(r"Starting \d+ replicas? of v(\d+)", next(t for _, t in lines if t.startswith("-----> Starting ")))
    job = f"bench.prod.{app}.web.v{m.group(1)}.1."
    r = results[(app, c)]
    st = r.get("steps", {})
    g = lambda k: st.get(k, 0.0)
    in_builder = sum(v for k, v in st.items() if k != "cache_pull")  # prepare includes cache_pull
    # prepare includes cache_pull; stack_choice is --stack auto's look at the app
    s["build_start"] = ((building - hook) + g("stack_pull") + g("prepare") + g("stack_choice") + g("sandbox_setup")
                        + g("container_start"))
    s["compile"] = g("buildpacks")
    s["image"] = g("sandbox_teardown") + g("layer_write") + g("push") + g("cache_push")
    s["build_other"] = (image - building) - in_builder  # builder start/exit, build record
    s["release"] = starting - image                      # release record, release phase
    t_start = first(lambda l: f"starting {job}" in l and "attempt 1" in l, starting)
    t_proc = first(lambda l: f"({job}" in l and "process started" in l, starting)
    t_ok = first(lambda l: f"] {job}" in l and "running healthy" in l, starting)
    s["auction"] = t_start - starting
    if t_proc is not None:
        s["pull_start"] = t_proc - t_start
        s["health"] = t_ok - t_proc
    else:
        s["pull_start_health"] = t_ok - t_start
    noticed = cut if cut is not None else released
    s["noticed"] = noticed - t_ok                          # sauron + rv-deploy's poll see it
    s["old_stop"] = (released - cut) if cut is not None else 0.0
    s["push_return"] = t1 - released                       # rv-deploy exits, runner, ref update, ssh
    s["builder_seconds"] = r.get("seconds")
    return s

per = {"first": [], "warm": [], "warm1cpu": [], "plain": []}
for kind, app, c, t0, t1 in pushes:
    per[kind].append(analyse(kind, app, c, t0, t1))
cs = json.load(open(f"{d}/cstart.json"))
med = lambda xs: round(statistics.median(xs), 3)
def steps_of(rows):
    keys = [k for k in rows[0] if k not in ("total", "builder_seconds")]
    return {k: med([r[k] for r in rows if k in r]) for k in keys}
res = {
    "first_push_s": med([r["total"] for r in per["first"]]),
    "first_push_max_s": round(max(r["total"] for r in per["first"]), 3),
    "warm_push_s": med([r["total"] for r in per["warm"]]),
    "warm_push_max_s": round(max(r["total"] for r in per["warm"]), 3),
    "warm_push_1cpu_s": med([r["total"] for r in per["warm1cpu"]]),
    "warm_push_1cpu_max_s": round(max(r["total"] for r in per["warm1cpu"]), 3),
    "plain_git_push_s": med([r["total"] for r in per["plain"]]),
    "plain_git_push_max_s": round(max(r["total"] for r in per["plain"]), 3),
    "warm_container_start_s": round(cs["warm_start_ms"] / 1000, 3),
    "warm_container_start_healthy_s": round(cs["warm_start_healthy_ms"] / 1000, 3),
    "steps": steps_of(per["warm"]),
    "first_steps": steps_of(per["first"]),
    "steps_1cpu": steps_of(per["warm1cpu"]),
    "runs": runs,
    "first_push_each_s": [round(r["total"], 3) for r in per["first"]],
    "warm_push_each_s": [round(r["total"], 3) for r in per["warm"]],
    "warm_push_1cpu_each_s": [round(r["total"], 3) for r in per["warm1cpu"]],
    "plain_git_push_each_s": [round(r["total"], 3) for r in per["plain"]],
    "pod_up_s": float(pod_up_s),
    "stack_python_setup_s": float(stack_s),
    "bench_seconds": int(bench_s),
    "loadavg_at_start": loadavg_start,
    "loadavg_at_end": loadavg,
    "each": {k: [{n: round(v, 3) for n, v in r.items() if v is not None} for r in rows] for k, rows in per.items()},
    "goal": {"warm_push_s": 2.0, "first_push_s": 10.0},
}
floor = res["plain_git_push_s"] + res["warm_container_start_healthy_s"]
res["reference"] = {
    "plain_git_push_s": res["plain_git_push_s"],
    "warm_container_start_healthy_s": res["warm_container_start_healthy_s"],
    "floor_s": round(floor, 3),
    "what": "plain git push of the same change over the same sshd/gitrecv to an app whose on-push does nothing, "
            "plus a warm runc start of the warm app's image until its port answers (rv-container-bench)",
}
res["ratios"] = {
    "warm_vs_plain_git_push": round(res["warm_push_s"] / res["plain_git_push_s"], 2),
    "warm_vs_floor": round(res["warm_push_s"] / floor, 2),
    "warm_1cpu_vs_floor": round(res["warm_push_1cpu_s"] / floor, 2),
    "first_vs_floor": round(res["first_push_s"] / floor, 2),
}
res["goal_met"] = {"warm": res["warm_push_s"] < 2.0, "first": res["first_push_s"] < 10.0,
                   "warm_1cpu": res["warm_push_1cpu_s"] < 2.0}
json.dump(res, open(out, "w"), indent=1)
print()
print(f"push_to_live, {runs} runs (median / max, seconds)")
print(f"  first push (new app, stack cached)  {res['first_push_s']:7.2f} / {res['first_push_max_s']:5.2f}   "
      f"goal < 10 s: {'met' if res['goal_met']['first'] else 'MISSED'}   {res['ratios']['first_vs_floor']}x floor")
print(f"  warm push (one-line change)         {res['warm_push_s']:7.2f} / {res['warm_push_max_s']:5.2f}   "
      f"goal < 2 s: {'met' if res['goal_met']['warm'] else 'MISSED'}   {res['ratios']['warm_vs_floor']}x floor, "
      f"{res['ratios']['warm_vs_plain_git_push']}x plain git push")
print(f"  warm push, 1 core per replica       {res['warm_push_1cpu_s']:7.2f} / {res['warm_push_1cpu_max_s']:5.2f}   "
      f"goal < 2 s: {'met' if res['goal_met']['warm_1cpu'] else 'MISSED'}   {res['ratios']['warm_1cpu_vs_floor']}x floor")
print(f"  plain git push, same sshd (floor)   {res['plain_git_push_s']:7.2f} / {res['plain_git_push_max_s']:5.2f}")
print(f"  warm container start -> running     {res['warm_container_start_s']:7.3f}")
print(f"  warm container start -> port answers{res['warm_container_start_healthy_s']:7.3f}")
print()
print(f"  {'step (median s)':22} {'first':>7} {'warm':>7} {'1 core':>7}")
for k in res["first_steps"]:
    print(f"  {k:22} {res['first_steps'][k]:7.3f} {res['steps'].get(k, 0):7.3f} {res['steps_1cpu'].get(k, 0):7.3f}")
print(f"\n  bench took {bench_s} s (pod up {pod_up_s} s, stack/python {stack_s} s more); "
      f"load average at the start {loadavg_start}, at the end {loadavg}")
PY
