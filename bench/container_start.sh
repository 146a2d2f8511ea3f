#!/usr/bin/env bash
# Container start benchmark (issue 3). Needs root, runc, docker-registry, podman.
#
#   warm_start_ms  award -> running with Rivendell (image cached): pull check
#                  (one manifest GET), overlay mount, netns + veth, bundle on tmpfs,
#                  `runc run` until the app process runs. Median of RUNS.
#   podman_run_ms  `podman --runtime /usr/sbin/runc --cgroup-manager cgroupfs run --rm
#                  --network none --ulimit ... IMAGE true`, the same image loaded from
#                  an OCI layout on disk (no network). Median of RUNS.
#   cold_pull_ms   pull of an app image whose stack layer is cached: manifest, config,
#                  one ~200 KB app layer fetched, verified and unpacked. Median of RUNS.
#
# Writes bench/results/container_start.json.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${RV_BUILD:-$root/build-bench}
runs=${RUNS:-10}
rvimage=$build/common/oci/rv-image
helper=$build/bench/container_start/rv-container-bench
[ -x "$rvimage" ] && [ -x "$helper" ] || { echo "build rv-image and rv-container-bench in $build first" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "container_start: needs root" >&2; exit 1; }

work=$(mktemp -d /tmp/rv-bench-cs.XXXXXX)
layout=/tmp/rv-bench-layout-$$   # podman names the image after this path: lowercase only
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
reg_pid=""
podman_opts=(--root "$work/podman" --runroot "$work/podman-run" --storage-driver overlay)
cleanup() {
  [ -n "$reg_pid" ] && "$root/scripts/registry" stop "$reg_pid" >/dev/null 2>&1 || true
  podman "${podman_opts[@]}" rm -af >/dev/null 2>&1 || true
  podman "${podman_opts[@]}" rmi -af >/dev/null 2>&1 || true
  for m in $(awk -v w="$work" '$2 ~ "^"w {print $2}' /proc/mounts | sort -r); do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$work" "$layout"
}
trap cleanup EXIT

reg_pid=$("$root/scripts/registry" start --dir "$work/registry" --port "$port")
reg=127.0.0.1:$port
"$root/scripts/stack-image" --registry "$reg" --rv-image "$rvimage" >/dev/null 2>&1
mkdir -p "$work/app/app/www"
echo "hello" > "$work/app/app/www/index.html"
"$rvimage" push-dir --registry "$reg" --repo bench/app --tag v1 --base stack/busybox:latest \
  --cmd '["httpd","-f","-p","8080","-h","/app/www"]' "$work/app" >/dev/null 2>&1

ours=$("$helper" --registry "$reg" --dir "$work/rt" --image bench/app:v1 --runs "$runs")

# podman: the same image, from an OCI layout on local disk.
"$rvimage" export-oci --registry "$reg" --repo bench/app --tag v1 "$layout"
id=$(podman "${podman_opts[@]}" pull -q "oci:$layout:v1")
times=()
for i in $(seq 1 "$runs"); do
  t0=$(date +%s%N)
  podman "${podman_opts[@]}" --runtime /usr/sbin/runc --cgroup-manager cgroupfs run --rm --pull never \
    --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 "$id" true >/dev/null
  t1=$(date +%s%N)
  times+=($(( (t1 - t0) / 1000 )))
done
podman_us=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int(NR/2)+1]}')

python3 - "$ours" "$podman_us" "$root/bench/results/container_start.json" "$runs" <<'PY'
import json, sys
ours = json.loads(sys.argv[1]); podman_ms = int(sys.argv[2]) / 1000.0
res = {
  "warm_start_ms": round(ours["warm_start_ms"], 1),
  "warm_start_healthy_ms": round(ours["warm_start_healthy_ms"], 1),
  "podman_run_ms": round(podman_ms, 1),
  "cold_pull_ms": round(ours["cold_pull_ms"], 1),
  "cold_pull_bytes": ours["cold_pull_bytes"],
  "runs": int(sys.argv[4]),
  "warm_vs_podman": round(ours["warm_start_ms"] / podman_ms, 3),
}
json.dump(res, open(sys.argv[3], "w"), indent=2)
print("%-44s %10s" % ("container_start (median of %d)" % res["runs"], "ms"))
print("%-44s %10.1f" % ("rivendell warm start (award -> running)", res["warm_start_ms"]))
print("%-44s %10.1f" % ("rivendell warm start (-> port answers)", res["warm_start_healthy_ms"]))
print("%-44s %10.1f" % ("podman run --rm (runc, local image)", res["podman_run_ms"]))
print("%-44s %10.1f" % ("cold pull, 1-layer app over cached stack", res["cold_pull_ms"]))
print("%-44s %10.3f   (goal <= 0.5)" % ("warm start / podman run", res["warm_vs_podman"]))
print("%-44s %10s   (goal < 300 ms)" % ("cold pull goal", "met" if res["cold_pull_ms"] < 300 else "MISSED"))
PY
