#!/usr/bin/env bash
# The python stack: `scripts/stack-image --python` builds stack/python with
# debootstrap from this machine's apt mirror and pushes it to a temporary
# registry; a second call does nothing ("up to date", same digest). The
# image's rootfs (unpacked from an OCI export) runs python3 and pip as the
# unprivileged app user, the driver builds examples/python-app inside it with
# no network, and the built app answers.   stack_test.bash ROOT RV_IMAGE
# Needs root (debootstrap, chroot) and the Debian mirror; a cold build takes minutes.
set -uo pipefail
ROOT=$(cd "$1" && pwd)
RVIMAGE=$2
D=$(mktemp -d /tmp/rv-pystack.XXXXXX)
reg_pid="" app_pid=""
cleanup() {
  [ -n "$app_pid" ] && { kill "$app_pid" 2>/dev/null; wait "$app_pid" 2>/dev/null; }
  [ -n "$reg_pid" ] && "$ROOT/scripts/registry" stop "$reg_pid" >/dev/null 2>&1
  awk -v w="$D/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf "$D"
}
trap cleanup EXIT
fail() { echo "FAIL - $*"; exit 1; }
ok() { echo "ok   - $*"; }
# shellcheck source=/dev/null
source "$ROOT/test/integration/test_ports.bash"
reserve_test_ports || exit 1
reg=127.0.0.1:$port

reg_pid=$("$ROOT/scripts/registry" start --dir "$D/reg" --port "$port") || fail "registry did not start"
t0=$(date +%s)
digest=$("$ROOT/scripts/stack-image" --python --registry "$reg" --rv-image "$RVIMAGE" 2> "$D/build.log") ||
  { tail -20 "$D/build.log"; fail "stack-image --python failed"; }
t1=$(date +%s)
echo "# cold build of stack/python: $((t1 - t0)) s, digest $digest"
grep -q "debootstrap bookworm from " "$D/build.log" && ok "debootstrap ran from $(sed -n 's/.*debootstrap bookworm from \([^ ]*\).*/\1/p' "$D/build.log")" ||
  fail "no debootstrap line in the build log"
mirror=$(sed -n 's/.*debootstrap bookworm from \([^ ]*\).*/\1/p' "$D/build.log")
grep -rqs -- "$mirror" /etc/apt/sources.list /etc/apt/sources.list.d/ && ok "  the mirror is the one apt is configured with" ||
  fail "mirror $mirror is not in /etc/apt/sources.list{,.d}"

hash=$("$RVIMAGE" label --registry "$reg" --repo stack/python --tag latest --key rivendell.content-hash) || fail "no content-hash label"
[[ "$hash" =~ ^[0-9a-f]{64}$ ]] && ok "the image carries its content hash ($hash)" || fail "content hash '$hash'"
stack=$("$RVIMAGE" label --registry "$reg" --repo stack/python --tag latest --key rivendell.stack)
[ "$stack" = python ] && ok "and the label rivendell.stack=python" || fail "rivendell.stack '$stack'"

t0=$(date +%s%N)
second=$("$ROOT/scripts/stack-image" --python --registry "$reg" --rv-image "$RVIMAGE" 2> "$D/second.log") || fail "second call failed"
t1=$(date +%s%N)
grep -q "stack/python:latest up to date" "$D/second.log" && ok "a second call says up to date ($(( (t1 - t0) / 1000000 )) ms)" ||
  fail "second call was not cached: $(cat "$D/second.log")"
[ "$second" = "$digest" ] && ok "  and prints the same digest" || fail "digest changed: $digest vs $second"

# Unpack the image as a host would run it.
"$RVIMAGE" export-oci --registry "$reg" --repo stack/python --tag latest "$D/oci" > /dev/null || fail "export-oci"
layers=$(python3 - "$D/oci" <<'EOF'
import json, sys
root = sys.argv[1]
blob = lambda d: f"{root}/blobs/{d.replace(':', '/')}"
index = json.load(open(f"{root}/index.json"))
manifest = json.load(open(blob(index["manifests"][0]["digest"])))
for layer in manifest["layers"]:
    print(blob(layer["digest"]), layer["size"])
EOF
) || fail "cannot read the OCI layout"
size=$(awk '{ s += $2 } END { print s }' <<< "$layers")
mkdir -p "$D/rootfs"
while read -r f _; do tar -xzf "$f" -C "$D/rootfs" --numeric-owner --warning=no-unknown-keyword || fail "unpacking $f"; done <<< "$layers"
echo "# stack/python: $(wc -l <<< "$layers") layer(s), $size bytes compressed, $(du -sb "$D/rootfs" | cut -f1) bytes unpacked"
R=$D/rootfs
grep -qx 'app:x:10000:10000::/app:/bin/sh' "$R/etc/passwd" && ok "the app user is uid 10000, home /app" || fail "no app user: $(grep app "$R/etc/passwd")"
[ ! -s "$R/etc/resolv.conf" ] && ok "no resolver copied from the build host" || fail "resolv.conf: $(cat "$R/etc/resolv.conf")"
for n in null:1:3 zero:1:5 urandom:1:9; do IFS=: read -r name ma mi <<< "$n"; mknod -m 666 "$R/dev/$name" c "$ma" "$mi"; done
as_app() { env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/app "$@"; }
chroot=$(command -v chroot) || fail "chroot not found"
v=$(as_app "$chroot" --userspec=10000:10000 "$R" python3 --version 2>&1) && [[ "$v" == "Python 3."* ]] &&
  ok "python3 runs in it as the app user ($v)" || fail "python3 --version: $v"
v=$(as_app "$chroot" --userspec=10000:10000 "$R" python3 -m pip --version 2>&1) && ok "and pip ($v)" || fail "pip --version: $v"

# The driver builds examples/python-app inside the stack, offline, as the app user.
cp -R "$ROOT/buildpacks" "$R/buildpacks"; rm -f "$R/buildpacks"/*/export
cp -R "$ROOT/examples/python-app/." "$R/app/"
mkdir -p "$R/cache" "$R/env" "$R/out"
chown -R 10000:10000 "$R/app" "$R/cache" "$R/out"
out=$(as_app unshare --net "$chroot" --userspec=10000:10000 "$R" /bin/sh /buildpacks/bin/build /app /cache /env /out 2>&1) ||
  { echo "$out"; fail "the build of python-app inside the stack failed"; }
echo "$out" | sed 's/^/#   /'
[ "$(cat "$R/out/process-types")" = "web: python3 app.py" ] && ok "the driver built python-app in the stack with no network" ||
  fail "process-types: $(cat "$R/out/process-types")"
mkdir -p "$R/app/.rv"; cp "$ROOT/buildpacks/bin/launch" "$R/app/.rv/launch"
app_port=$((port + 1))
as_app PORT=$app_port "$chroot" --userspec=10000:10000 "$R" /bin/sh /app/.rv/launch "python3 app.py" > "$D/app.log" 2>&1 &
app_pid=$!
page=""
for _ in $(seq 1 100); do
  page=$(curl -fsS --max-time 2 "http://127.0.0.1:$app_port/" 2>/dev/null) && break
  kill -0 "$app_pid" 2>/dev/null || break
  sleep 0.1
done
grep -q "rvgreet 1.0 installed from a vendored wheel" <<< "$page" && ok "the built app answers on \$PORT from the stack's python3" ||
  { cat "$D/app.log"; fail "the app did not answer: $page"; }
echo "# all ok"
