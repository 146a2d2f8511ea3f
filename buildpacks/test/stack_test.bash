#!/usr/bin/env bash
# A stack image, built and used as the builder will:   stack_test.bash ROOT RV_IMAGE python|busybox
#
# `scripts/stack-image [--python]` builds the stack and pushes it to a
# temporary registry; a second call does nothing ("up to date", same digest).
# The image's rootfs (unpacked from an OCI export) is entered with chroot as
# the unprivileged app user (uid 10000), with no network (unshare --net): the
# driver builds the stack's sample apps inside it (python: all three, with
# python3 and pip checked first; busybox: static-site and procfile-app under
# busybox sh), and each built app answers HTTP through launch.
# Needs root. python: debootstrap from this machine's apt mirror, minutes.
set -uo pipefail
ROOT=$(cd "$1" && pwd)
RVIMAGE=$2
STACK=$3
D=$(mktemp -d /tmp/rv-stacktest.XXXXXX)
reg_pid="" app_pid=""
cleanup() {
  [ -n "$app_pid" ] && stop_app
  [ -n "$reg_pid" ] && "$ROOT/scripts/registry" stop "$reg_pid" >/dev/null 2>&1
  awk -v w="$D/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf "$D"
}
# The app runs in a session of its own (setsid): a server it forks (busybox
# httpd, python3) outlives a kill of the launch chain alone, so the whole
# group is ended.
stop_app() {
  kill -- "-$app_pid" 2>/dev/null
  wait "$app_pid" 2>/dev/null
  app_pid=""
}
trap cleanup EXIT
fail() { echo "FAIL - $*"; exit 1; }
ok() { echo "ok   - $*"; }
case "$STACK" in
  python) flags=(--python); apps=(python-app static-site procfile-app) ;;
  busybox) flags=(); apps=(static-site procfile-app) ;;
  *) fail "usage: $0 ROOT RV_IMAGE python|busybox" ;;
esac
repo=stack/$STACK
chroot=$(command -v chroot) || fail "chroot not found"
# shellcheck source=/dev/null
source "$ROOT/test/integration/test_ports.bash"
reserve_test_ports || exit 1
reg=127.0.0.1:$port
next_port=$((port + 1))

# A cache of its own: this test is about the build (the machine's cache,
# /var/cache/rivendell/stacks, would skip it).
export RV_STACK_CACHE=$D/stack-cache
reg_pid=$("$ROOT/scripts/registry" start --dir "$D/reg" --port "$port") || fail "registry did not start"
t0=$(date +%s%N)
digest=$("$ROOT/scripts/stack-image" "${flags[@]}" --registry "$reg" --rv-image "$RVIMAGE" 2> "$D/build.log") ||
  { tail -20 "$D/build.log"; fail "stack-image ${flags[*]} failed"; }
t1=$(date +%s%N)
echo "# cold build of $repo: $(( (t1 - t0) / 1000000 )) ms, digest $digest"
if [ "$STACK" = python ]; then
  mirror=$(sed -n 's/.*debootstrap bookworm from \([^ ]*\).*/\1/p' "$D/build.log")
  [ -n "$mirror" ] && ok "debootstrap ran from $mirror" || fail "no debootstrap line in the build log"
  grep -rqsF -- "$mirror" /etc/apt/sources.list /etc/apt/sources.list.d/ && ok "  the mirror is the one apt is configured with" ||
    fail "mirror $mirror is not in /etc/apt/sources.list{,.d}"
fi

hash=$("$RVIMAGE" label --registry "$reg" --repo "$repo" --tag latest --key rivendell.content-hash) || fail "no content-hash label"
[[ "$hash" =~ ^[0-9a-f]{64}$ ]] && ok "the image carries its content hash ($hash)" || fail "content hash '$hash'"
label=$("$RVIMAGE" label --registry "$reg" --repo "$repo" --tag latest --key rivendell.stack)
[ "$label" = "$STACK" ] && ok "and the label rivendell.stack=$STACK" || fail "rivendell.stack '$label'"
t0=$(date +%s%N)
second=$("$ROOT/scripts/stack-image" "${flags[@]}" --registry "$reg" --rv-image "$RVIMAGE" 2> "$D/second.log") || fail "second call failed"
t1=$(date +%s%N)
grep -q "$repo:latest up to date" "$D/second.log" && ok "a second call says up to date ($(( (t1 - t0) / 1000000 )) ms)" ||
  fail "second call was not cached: $(cat "$D/second.log")"
[ "$second" = "$digest" ] && ok "  and prints the same digest" || fail "digest changed: $digest vs $second"
if [ "$STACK" = python ]; then
  [ -f "$RV_STACK_CACHE/stack_python-$hash/index.json" ] && ok "the build is kept in the machine cache (RV_STACK_CACHE)" ||
    fail "no $RV_STACK_CACHE/stack_python-$hash: $(ls "$RV_STACK_CACHE" 2>&1)"
fi

# Unpack the image as a host would run it.
"$RVIMAGE" export-oci --registry "$reg" --repo "$repo" --tag latest "$D/oci" > /dev/null || fail "export-oci"
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
R=$D/rootfs
mkdir -p "$R"
while read -r f _; do tar -xzf "$f" -C "$R" --numeric-owner || fail "unpacking $f"; done <<< "$layers"
echo "# $repo: $(wc -l <<< "$layers") layer(s), $size bytes compressed, $(du -sb "$R" | cut -f1) bytes unpacked"
grep -Eq '^app:x:10000:10000:[^:]*:/app:/bin/sh$' "$R/etc/passwd" && ok "the app user is uid 10000, home /app" ||
  fail "no app user: $(grep app "$R/etc/passwd")"
[ ! -s "$R/etc/resolv.conf" ] && ok "no resolver copied from the build host" || fail "resolv.conf: $(cat "$R/etc/resolv.conf")"
mkdir -p "$R/dev"
for n in null:1:3 zero:1:5 urandom:1:9; do IFS=: read -r name ma mi <<< "$n"; mknod -m 666 "$R/dev/$name" c "$ma" "$mi"; done
as_app() { env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME=/app "$@"; }
if [ "$STACK" = python ]; then
  v=$(as_app "$chroot" --userspec=10000:10000 "$R" python3 --version 2>&1) && [[ "$v" == "Python 3."* ]] &&
    ok "python3 runs in it as the app user ($v)" || fail "python3 --version: $v"
  v=$(as_app "$chroot" --userspec=10000:10000 "$R" python3 -m pip --version 2>&1) && ok "and pip ($v)" || fail "pip --version: $v"
fi

# The driver builds each sample app inside the stack, offline, as the app user.
cp -R "$ROOT/buildpacks" "$R/buildpacks"; rm -f "$R/buildpacks"/*/export
for a in "${apps[@]}"; do
  rm -rf "$R/app" "$R/cache" "$R/env" "$R/out"
  mkdir -p "$R/app" "$R/cache" "$R/env" "$R/out"
  cp -R "$ROOT/examples/$a/." "$R/app/"
  chown -R 10000:10000 "$R/app" "$R/cache" "$R/out"
  t0=$(date +%s%N)
  out=$(as_app unshare --net "$chroot" --userspec=10000:10000 "$R" /bin/sh /buildpacks/bin/build /app /cache /env /out 2>&1) ||
    { echo "$out"; fail "$a: the build inside $repo failed"; }
  t1=$(date +%s%N)
  echo "$out" | sed 's/^/#   /'
  web=$(sed -n 's/^web: //p' "$R/out/process-types")
  [ -n "$web" ] && ok "$a: built in $repo with no network in $(( (t1 - t0) / 1000000 )) ms (web: $web)" ||
    fail "$a: process-types: $(cat "$R/out/process-types")"
  mkdir -p "$R/app/.rv"; cp "$ROOT/buildpacks/bin/launch" "$R/app/.rv/launch"
  app_port=$next_port; next_port=$((next_port + 1))
  # Not through as_app: a function in the background is a subshell, and its
  # pid would not be the session's.
  env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME=/app PORT=$app_port \
    setsid "$chroot" --userspec=10000:10000 "$R" /bin/sh /app/.rv/launch "$web" > "$D/app.log" 2>&1 &
  app_pid=$!
  page=""
  for _ in $(seq 1 100); do
    page=$(curl -fsS --max-time 2 "http://127.0.0.1:$app_port/" 2>/dev/null) && break
    kill -0 "$app_pid" 2>/dev/null || break
    sleep 0.1
  done
  grep -q "<h1>$a</h1>" <<< "$page" && ok "$a: answers on \$PORT, run by launch in $repo" ||
    { cat "$D/app.log"; fail "$a did not answer: $page"; }
  [ "$a" = python-app ] && { grep -q "rvgreet 1.0 installed from a vendored wheel" <<< "$page" &&
    ok "  with the vendored wheel" || fail "no rvgreet greeting: $page"; }
  stop_app
done
echo "# all ok"
