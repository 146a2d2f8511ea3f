#!/usr/bin/env bash
# pod_containers: a one-host pod (scripts/pod up) with the real registry and
# the busybox stack; `rv submit --image ... --port 8080` is auctioned, pulled
# and started; the app answers over its container's veth; `rv ps` shows the
# host; `rv logs` shows its output; `scripts/pod down` leaves no container.
# Needs root (runc, overlayfs, netns); skips loudly otherwise.
#   pod_containers_test.sh REPO_ROOT BUILD_DIR
set -uo pipefail
root=$1
export RV_BUILD=$2
. "$root/test/integration/need.bash"
need_root_and pod_containers docker-registry runc curl ip mount
dir=$(mktemp -d /tmp/rv-podc.XXXXXX)
. "$root/test/integration/test_ports.bash"
reserve_test_ports || exit 1
rv="$RV_BUILD/cli/rv --pod $dir/pod.json"
fail() { echo "FAIL: $*" >&2; $rv ps >&2 || true; tail -n 20 "$dir"/logs/strider-h1.log >&2 || true; exit 1; }
cleanup() {
  "$root/scripts/pod" down --dir "$dir" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

"$root/scripts/pod" up --hosts 1 --dir "$dir" --base-port "$port" || fail "pod up"
$rv submit --service web --image stack/busybox:latest --port 8080 --ram-mb 32 -- \
  /bin/sh -c 'mkdir -p /tmp/w && echo hello-rivendell >/tmp/w/index.html && echo serving && exec httpd -f -p 8080 -h /tmp/w' \
  || fail "submit"
ok=0
for _ in $(seq 1 100); do
  $rv ps | grep -q "web-1 .*placed *h1 *running (healthy on port 8080)" && { ok=1; break; }
  sleep 0.2
done
[ $ok = 1 ] || fail "web-1 never ran healthy on h1"
# h1's veth pool is 10.101.0.0/16; the first container gets .0.2. As root,
# scripts/pod puts h1 in a network namespace of its own: ask from there.
body=$("$root/scripts/pod" exec --dir "$dir" --host h1 -- curl -s -m 5 http://10.101.0.2:8080/index.html) \
  || fail "no HTTP answer over the veth"
[ "$body" = hello-rivendell ] || fail "unexpected body '$body'"
# rv logs reads through sauron from the job's host (cli/remote_log.h), not
# from this machine's copy of the host's files; --data-dir reads those.
$rv logs web-1 >"$dir/web-1.log" 2>"$dir/web-1.err" || fail "rv logs web-1: $(cat "$dir/web-1.err")"
grep -q serving "$dir/web-1.log" || fail "rv logs web-1 has no 'serving'"
[ ! -s "$dir/web-1.err" ] || fail "rv logs web-1 did not read through sauron: $(cat "$dir/web-1.err")"
reads=$($rv counters | awk '$1 == "logs.read" {print $2}')
[ "${reads:-0}" -ge 1 ] || fail "sauron relayed no log read (logs.read=${reads:-0})"
$rv logs web-1 --data-dir "$dir/hosts/h1" | grep -q serving || fail "rv logs --data-dir has no 'serving'"
out=$($rv logs nosuch-1 2>&1) && fail "rv logs of an unknown job succeeded"
grep -q "no job nosuch-1" <<<"$out" || fail "rv logs of an unknown job did not say so: $out"
id=$(ls "$dir/hosts/h1/container/containers/")
tag=h1-$(printf %s "$dir/hosts/h1" | sha256sum | cut -c1-8)  # the strider's run dir name
# The container's netns is <id>-<6 hex of the run dir> (other pods may run a web-1 too).
ns=$id-$(printf %s "/run/rivendell/$tag" | sha256sum | cut -c1-6)
[ -e "/var/run/netns/$ns" ] || fail "the container's netns $ns is not where expected"
"$root/scripts/pod" down --dir "$dir" >/dev/null || fail "pod down"
# The run dir (tmpfs with bundles and runc state) is unmounted and removed.
[ ! -e "/run/rivendell/$tag" ] || fail "run dir /run/rivendell/$tag left behind"
! mount | grep -q "$dir" || fail "mounts left under $dir"
[ ! -e "/var/run/netns/$ns" ] || fail "netns $ns left"
echo "PASS: pod_containers"
