#!/usr/bin/env bash
# Recovery benchmark (issue 19, docs/SCEPTRE.md). Needs root, runc, docker-registry.
#
# A 2-host namespace pod (scripts/pod), sauron's agent grace 5 s. For each
# COUNT (default "10 50 100") COUNT busybox httpd containers (one env) on h1:
#   readopt_s   strider kill -9 -> the new strider adopted them all (its
#               "live restore: adopted N running in X ms" line gives X);
#               container_restarts = app pids that changed (goal 0)
#   recover_s   simulated reboot (scripts/pod crash-host: kill -9 of the
#               host's daemons and containers, tmpfs run dir unmounted) ->
#               `sceptre recover` + strider start -> every container healthy
#               (restarted from the local image cache through the journal,
#               in parallel, within the agent grace)
#   reauction_s the same crash, but the host comes back after sauron declared
#               it lost: its jobs go pending, and are auctioned, claimed and
#               started fresh (the path every reboot took before)
# Writes bench/results/recovery.json (RV_BENCH_OUT: elsewhere); RV_BENCH_KEEP_LOGS=DIR
# keeps the pod's logs there (where the time went).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
export RV_BUILD=${RV_BUILD:-$root/build-bench}
counts=${COUNTS:-10 50 100}
[ "$(id -u)" = 0 ] || { echo "recovery: needs root" >&2; exit 1; }
dir=$(mktemp -d /tmp/rv-bench-rec.XXXXXX)
. "$root/test/integration/test_ports.bash"
reserve_test_ports || exit 1
rv="$RV_BUILD/cli/rv --pod $dir/pod.json"
tag1=h1-$(printf %s "$dir/hosts/h1" | sha256sum | cut -c1-8)
cleanup() {
  "$root/scripts/pod" down --dir "$dir" >/dev/null 2>&1 || true
  [ -n "${RV_BENCH_KEEP_LOGS:-}" ] && mkdir -p "$RV_BENCH_KEEP_LOGS" && cp -r "$dir/logs" "$RV_BENCH_KEEP_LOGS/"
  rm -rf "$dir"
}
trap cleanup EXIT
now() { date +%s.%N; }
since() { awk -v a="$(now)" -v b="$1" 'BEGIN {printf "%.3f", a - b}'; }
healthy() { $rv ps 2>/dev/null | awk -v s="$1-" 'index($1, s) == 1 && $3 == "placed" && $4 == "h1"' | grep -c "running (.*healthy" || true; }
wait_healthy() {  # wait_healthy SVC COUNT
  for _ in $(seq 1 3000); do [ "$(healthy "$1")" -ge "$2" ] && return 0; sleep 0.1; done
  echo "recovery: $1 never reached $2 healthy" >&2
  return 1
}
pids() { cat /run/rivendell/"$tag1"/bundles/*/pid 2>/dev/null | sort; }
# fresh_healthy SVC MARK: jobs of SVC the strider reported healthy after log line MARK
fresh_healthy() {
  tail -n +"$2" "$dir/logs/strider-h1.log" | grep -o "\] $1-[0-9]* attempt [0-9]*: running healthy on port" | sort -u | wc -l
}
wait_fresh() {  # wait_fresh SVC COUNT MARK: every container started again and healthy
  for _ in $(seq 1 3000); do [ "$(fresh_healthy "$1" "$3")" -ge "$2" ] && return 0; sleep 0.1; done
  echo "recovery: $1 never had $2 restarted containers healthy" >&2
  return 1
}

RV_POD_AGENT_GRACE_MS=5000 "$root/scripts/pod" up --hosts 2 --dir "$dir" --base-port "$port" >/dev/null || exit 1
$rv hosts drain h2 >/dev/null
app='mkdir -p /tmp/w && echo "$RV_JOB_ID" >/tmp/w/index.html && exec httpd -f -p 8080 -h /tmp/w'
declare -A recover readopt reauction adopt_ms restarts
for n in $counts; do
  svc=rb$n
  $rv submit --service "$svc" --env "bench/r$n" --replicas "$n" --constraint zone=a --ram-mb 8 --cpu-millis 15 --disk-mb 5 \
    --image stack/busybox:latest --port 8080 --restart always -- /bin/sh -c "$app" >/dev/null || exit 1
  wait_healthy "$svc" "$n" || exit 1
  # readopt
  before=$(pids)
  kill -KILL "$(cat "$dir/pids/strider-h1.pid")"
  sleep 0.3
  t0=$(now)
  "$root/scripts/pod" restart-host --dir "$dir" --host h1 --agent-only
  for _ in $(seq 1 600); do grep -q "live restore: adopted" <(tail -n 400 "$dir/logs/strider-h1.log") && break; sleep 0.05; done
  readopt[$n]=$(since "$t0")
  adopt_ms[$n]=$(tail -n 400 "$dir/logs/strider-h1.log" | grep -o "adopted [0-9]* running jobs in [0-9]* ms" | tail -n1 | awk '{print $6}')
  wait_healthy "$svc" "$n" || exit 1
  restarts[$n]=$(comm -3 <(echo "$before") <(pids) | wc -l)
  restarts[$n]=$((restarts[$n] / 2))
  # recover (within the grace: through the journal)
  "$root/scripts/pod" crash-host --dir "$dir" --host h1
  mark=$(($(wc -l <"$dir/logs/strider-h1.log") + 1))
  t0=$(now)
  "$root/scripts/pod" restart-host --dir "$dir" --host h1
  wait_fresh "$svc" "$n" "$mark" || exit 1
  recover[$n]=$(since "$t0")
  grep -q "welcomed by sauron: .*keep $n" <(tail -n +"$mark" "$dir/logs/strider-h1.log") || echo "recovery: note: the host was lost meanwhile (not the journal path)" >&2
  # re-auction (after the host was declared lost)
  "$root/scripts/pod" crash-host --dir "$dir" --host h1
  for _ in $(seq 1 200); do $rv hosts 2>/dev/null | awk '$1 == "h1"' | grep -q lost && break; sleep 0.1; done
  mark=$(($(wc -l <"$dir/logs/strider-h1.log") + 1))
  t0=$(now)
  "$root/scripts/pod" restart-host --dir "$dir" --host h1
  wait_fresh "$svc" "$n" "$mark" || exit 1
  reauction[$n]=$(since "$t0")
  printf '%5d containers: readopt %.3f s (adoption %s ms, %d restarts)  recover %.2f s  re-auction %.2f s\n' \
    "$n" "${readopt[$n]}" "${adopt_ms[$n]}" "${restarts[$n]}" "${recover[$n]}" "${reauction[$n]}"
  $rv stop $(seq -f "$svc-%g" 1 "$n") >/dev/null 2>&1 || true
  for _ in $(seq 1 600); do [ -z "$(ls /run/rivendell/"$tag1"/bundles 2>/dev/null)" ] && break; sleep 0.1; done
done
{
  printf '{"recover_s": {'; sep=""
  for n in $counts; do printf '%s"%s": %.3f' "$sep" "$n" "${recover[$n]}"; sep=", "; done
  printf '}, "reauction_s": {'; sep=""
  for n in $counts; do printf '%s"%s": %.3f' "$sep" "$n" "${reauction[$n]}"; sep=", "; done
  printf '}, "readopt_s": {'; sep=""
  for n in $counts; do printf '%s"%s": %.3f' "$sep" "$n" "${readopt[$n]}"; sep=", "; done
  printf '}, "adopt_ms": {'; sep=""
  for n in $counts; do printf '%s"%s": %s' "$sep" "$n" "${adopt_ms[$n]:-null}"; sep=", "; done
  printf '}, "container_restarts": {'; sep=""
  for n in $counts; do printf '%s"%s": %d' "$sep" "$n" "${restarts[$n]}"; sep=", "; done
  printf '}}\n'
} >"${RV_BENCH_OUT:-$here/results/recovery.json}"
cat "${RV_BENCH_OUT:-$here/results/recovery.json}"
