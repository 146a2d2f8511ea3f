#!/usr/bin/env bash
# pod_secrets: a secret set with `rv config:set` reaches the container's
# environment, and nothing on disk has it in plaintext.
#
# One-host pod (scripts/pod up, real registry, busybox stack). `rv config:set
# ENV API_TOKEN=<unique marker> --secret`, then an image job in ENV; the marker
# must be in the app's /proc/<pid>/environ, `rv config ENV` must mask it, and a
# byte search (grep -r -a) of the pod dir (sauron's SQLite db, WAL and shm, keys,
# every log, the strider's state dir with images, containers and console logs,
# the registry's storage) must find nothing, while the app runs and after the
# pod is down. The strider is then killed (-9) and restarted: the container
# runs on and is adopted with its environment (live restore). Then a
# simulated reboot (scripts/pod crash-host: the tmpfs bundle is gone): the
# container starts again and gets the secret sealed through host.welcome
# (within sauron's agent grace) or a new award's claim reply (also
# unit-tested: AgentTest.KeptJobAfterRestartGetsItsSealedEnvFromTheWelcome,
# EnvConfigTest.ClaimReplyCarriesEnvSealedToTheClaimingHost).
# Needs root (runc, overlayfs, netns); skips otherwise.
#   pod_secrets_test.sh REPO_ROOT BUILD_DIR
set -uo pipefail
root=$1
export RV_BUILD=$2
. "$root/test/integration/need.bash"
. "$root/test/integration/one_host_pod.bash"
need_root_and pod_secrets docker-registry runc curl ip
dir=$(mktemp -d /tmp/rv-pods.XXXXXX)
. "$root/test/integration/test_ports.bash"
reserve_test_ports || exit 1
rv="$RV_BUILD/cli/rv --pod $dir/pod.json"
marker="rvsecret-$$-$RANDOM$RANDOM-marker"
plain_marker="rvplain-$$-$RANDOM"
svc=sec$$  # unique: container ids (and netns names) derive from job ids
fail() {
  echo "FAIL: $*" >&2
  $rv ps >&2 || true
  tail -n 30 "$dir"/logs/strider-h1.log >&2 || true
  exit 1
}
cleanup() { one_host_pod_cleanup "$dir" "rv-$svc-"; }
trap cleanup EXIT

# grep_disk WHAT: fails if any file under the pod dir holds the marker.
grep_disk() {
  local hits
  hits=$(grep -r -l -a -F -- "$marker" "$dir" 2>/dev/null)
  [ -z "$hits" ] || fail "plaintext secret on disk ($1): $hits"
}

# app_environ JOB: the environment of the job's container's PID 1, read from
# the host (/proc/<pid>/environ; the pid file is in the tmpfs bundle).
app_environ() {
  local id pidfile pid
  id=$(ls "$dir/hosts/h1/container/containers/" 2>/dev/null | head -n1)
  [ -n "$id" ] || return 1
  pidfile=$(ls /run/rivendell/"$tag"/bundles/"$id"/pid 2>/dev/null) || return 1
  pid=$(cat "$pidfile" 2>/dev/null) || return 1
  [ -n "$pid" ] && tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null
}

wait_running() {
  for _ in $(seq 1 150); do
    # an adopted container reports "running (adopted pid N, healthy on port P)"
    $rv ps | grep -q "$svc-1 .*placed *h1 *running (\(adopted pid [0-9]*, \)\?healthy on port 8080)" && return 0
    sleep 0.2
  done
  return 1
}

# The strider restart below must come back within sauron's agent grace to be
# adopted; on a loaded machine a restart takes more than the default 2 s.
RV_POD_AGENT_GRACE_MS=10000 "$root/scripts/pod" up --hosts 1 --dir "$dir" --base-port "$port" || fail "pod up"
tag=h1-$(printf %s "$dir/hosts/h1" | sha256sum | cut -c1-8)  # the strider's run dir name

$rv config:set acme/prod "API_TOKEN=$marker" --secret | grep -q "API_TOKEN" || fail "config:set --secret"
$rv config:set acme/prod "GREETING=$plain_marker" >/dev/null || fail "config:set plain"
listing=$($rv config acme/prod) || fail "rv config"
echo "$listing"
grep -q "API_TOKEN .*secret" <<<"$listing" || fail "rv config does not list API_TOKEN as secret"
grep -qF -- "$plain_marker" <<<"$listing" || fail "rv config does not show the plain value"
! grep -qF -- "$marker" <<<"$listing" || fail "rv config shows the secret's value"
$rv config:set acme/prod "RV_JOB_ID=x" >/dev/null 2>&1 && fail "a reserved name was accepted"
# A value that is not UTF-8 is refused by name: it would go into the
# container's JSON runtime spec: before this check the strider threw on it
# while writing the spec, with nothing to catch it (the whole host agent ends).
if out=$($rv config:set acme/prod "$(printf 'LATIN1=caf\351')" --secret 2>&1); then fail "a Latin-1 value was accepted"; fi
grep -q "LATIN1 is not UTF-8" <<<"$out" || fail "the Latin-1 refusal does not say why: $out"
if out=$($rv submit --service latin1 --image stack/busybox:latest -- "$(printf '/bin/echo caf\351')" 2>&1); then
  fail "a command that is not UTF-8 was accepted"
fi
grep -q "not UTF-8" <<<"$out" || fail "the refused command does not say why: $out"
$rv config:unset acme/prod GREETING >/dev/null || fail "config:unset"
$rv config acme/prod | grep -q GREETING && fail "GREETING still listed after unset"

$rv submit --service "$svc" --env acme/prod --image stack/busybox:latest --port 8080 --ram-mb 32 -- \
  /bin/sh -c 'mkdir -p /tmp/w && echo ok >/tmp/w/index.html && exec httpd -f -p 8080 -h /tmp/w' \
  >/dev/null || fail "submit"
wait_running || fail "$svc-1 never ran healthy on h1"

env_now=$(app_environ) || fail "cannot read the app's environment"
grep -qx -- "API_TOKEN=$marker" <<<"$env_now" || fail "API_TOKEN not in the container's environment"
grep -q "^GREETING=" <<<"$env_now" && fail "an unset var reached the container"
grep -qx "RV_ENV=acme/prod" <<<"$env_now" || fail "RV_ENV not set"
# The bundle (config.json with the env) is on a tmpfs, the only place it is.
[ "$(stat -f -c %T "/run/rivendell/$tag")" = tmpfs ] || fail "/run/rivendell/$tag is not a tmpfs"
grep -rqaF -- "$marker" "/run/rivendell/$tag/bundles" || fail "expected the secret in the tmpfs bundle"

grep_disk "while running"

# Strider crash and restart: the container runs on and is adopted (live
# restore, docs/SCEPTRE.md), its environment untouched.
pid_before=$(cat /run/rivendell/"$tag"/bundles/*/pid)
spid=$(cat "$dir/pids/strider-h1.pid")
kill -KILL "$spid"
for _ in $(seq 1 50); do kill -0 "$spid" 2>/dev/null || break; sleep 0.1; done
"$root/scripts/pod" restart-host --dir "$dir" --host h1 --agent-only || fail "restart-host"
for _ in $(seq 1 100); do grep -q "live restore: adopted 1 running" "$dir/logs/strider-h1.log" && break; sleep 0.1; done
grep -q "live restore: adopted 1 running" "$dir/logs/strider-h1.log" || fail "the strider did not adopt the running container"
wait_running || fail "$svc-1 not running after the strider restart"
[ "$(cat /run/rivendell/"$tag"/bundles/*/pid)" = "$pid_before" ] || fail "the container was restarted, not adopted"
app_environ | grep -qx -- "API_TOKEN=$marker" || fail "the adopted container lost API_TOKEN"
echo "strider restart: container adopted (pid $pid_before unchanged), API_TOKEN still in its environment"
grep_disk "after the strider restart"

# A simulated reboot (the tmpfs with the bundle is gone): the container starts
# again and its secret comes back sealed, through host.welcome (keep +
# sealed_envs) or a new award's claim reply; never from disk.
starts_before=$(grep -c "starting $svc-1 attempt" "$dir/logs/strider-h1.log")
"$root/scripts/pod" crash-host --dir "$dir" --host h1 || fail "crash-host"
grep_disk "after the crash"
"$root/scripts/pod" restart-host --dir "$dir" --host h1 || fail "restart-host after the crash"
ok=0
for _ in $(seq 1 150); do
  if env2=$(app_environ) && [ -n "$env2" ] && grep -qx -- "API_TOKEN=$marker" <<<"$env2"; then
    [ "$(grep -c "starting $svc-1 attempt" "$dir/logs/strider-h1.log")" -gt "$starts_before" ] && { ok=1; break; }
  fi
  sleep 0.2
done
[ $ok = 1 ] || fail "after a reboot the container did not get API_TOKEN again"
wait_running || fail "$svc-1 not running after the reboot"
if tail -n 100 "$dir/logs/strider-h1.log" | grep -q "welcomed by sauron: .*keep 1"; then
  echo "reboot: recovered via host.welcome (keep + sealed_envs)"
else
  echo "reboot: recovered via a new award and claim (Outcome.sealed_env)"
fi
grep_disk "after the strider restart"
"$root/scripts/pod" down --dir "$dir" >/dev/null || fail "pod down"
grep_disk "after pod down"
[ ! -e "/run/rivendell/$tag" ] || fail "run dir /run/rivendell/$tag left behind"
echo "PASS: pod_secrets"
