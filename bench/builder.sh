#!/usr/bin/env bash
# Builder benchmark (issue 17): a trivial app (one index.html, a fixture
# buildpack that writes its process types) on the busybox stack.
#
#   cold   a fresh state dir: the stack is pulled and unpacked, then the build
#   warm   the same state dir again, unchanged source: stack cached, same image
#   cache  --cache-repo: the build cache pulled from / pushed to the registry
#          by a build on a fresh state dir ("another host"), 1 MB of cache
#
# Per run, the builder's own step times (its result line's "steps"); the table
# shows the median of RUNS for each. Writes bench/results/builder.json.
# Needs root, runc, docker-registry, busybox-static, python3.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${RV_BUILD:-$root/build-bench}
runs=${RUNS:-10}
builder=$build/builder/builder
rvimage=$build/common/oci/rv-image
[ -x "$builder" ] && [ -x "$rvimage" ] || { echo "build builder and rv-image in $build first" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "builder bench: needs root" >&2; exit 1; }
source "$root/test/integration/test_ports.bash"
reserve_test_ports
work=$(mktemp -d /tmp/rv-bench-builder.XXXXXX)
reg_pid=""
cleanup() {
  [ -n "$reg_pid" ] && "$root/scripts/registry" stop "$reg_pid" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
reg_pid=$("$root/scripts/registry" start --dir "$work/reg" --port "$port" --addr 127.0.0.1)
registry=127.0.0.1:$port
"$root/scripts/stack-image" --registry "$registry" --rv-image "$rvimage" >/dev/null 2>&1
mkdir -p "$work/src" "$work/bp/bin"
echo '<h1>hello</h1>' > "$work/src/index.html"
cat > "$work/bp/bin/build" <<'SH'
echo "-----> Static site"
[ -f /cache/blob ] || head -c 1048576 /dev/urandom > /cache/blob
echo 'web: httpd -f -p $PORT -h /app' > $4/process-types
echo static > $4/buildpacks
SH
run() {  # run KIND STATE [ARGS...]: one build, its result line's JSON appended to $work/KIND.jsonl
  local kind=$1 state=$2
  shift 2
  local t0 t1 out
  t0=$(date +%s.%N)
  out=$("$builder" run --source "$work/src" --app bench/prod/web --registry "$registry" --image bench/prod/web:v1 \
    --buildpacks "$work/bp" --state-dir "$state" "$@" | tail -1)
  t1=$(date +%s.%N)
  case "$out" in "builder: result "*) ;; *) echo "build failed: $out" >&2; exit 1 ;; esac
  echo "${out#builder: result }" |
    python3 -c 'import json,sys; j=json.load(sys.stdin); j["wall"]=float(sys.argv[2])-float(sys.argv[1]); print(json.dumps(j))' \
      "$t0" "$t1" >> "$work/$kind.jsonl"
}
for i in $(seq "$runs"); do
  run cold "$work/state-$i"
  run warm "$work/state-$i"
  run cache "$work/cache-host-$i" --cache-repo "cache/bench/prod/web"
  rm -rf "$work/state-$i" "$work/cache-host-$i"
done
python3 - "$work" "$root/bench/results/builder.json" "$runs" <<'PY'
import json, statistics, sys
work, out, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
res = {"runs": runs}
for kind in ("cold", "warm", "cache"):
    rows = [json.loads(l) for l in open(f"{work}/{kind}.jsonl")]
    steps = sorted({k for r in rows for k in r["steps"]})
    med = {k: round(statistics.median(r["steps"].get(k, 0) for r in rows), 3) for k in steps}
    res[kind] = {"wall_s": round(statistics.median(r["wall"] for r in rows), 3),
                 "max_wall_s": round(max(r["wall"] for r in rows), 3),
                 "builder_s": round(statistics.median(r["seconds"] for r in rows), 3),
                 "steps": med, "size_bytes": rows[-1]["size_bytes"]}
    print(f"{kind:5}  wall {res[kind]['wall_s']:.3f} s (max {res[kind]['max_wall_s']:.3f})  "
          + "  ".join(f"{k} {v:.3f}" for k, v in med.items()))
json.dump(res, open(out, "w"), indent=1)
PY
