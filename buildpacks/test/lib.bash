# buildpacks/test/lib.bash: sourced by the buildpack tests (bash; the packs
# and the driver they run are POSIX sh).
#
#   <test>.bash ROOT SHELL      SHELL: dash (the host's /bin/sh) or busybox
#
# Under `busybox`, the packs and the driver run with busybox sh, and busybox's
# applets come first in PATH (as on the busybox stack); python3 is Debian's,
# from /usr/bin (as on the python stack). Each test gets a scratch directory
# $T with a writable copy of buildpacks/ ($BP) and examples/ ($EX), removed at
# exit with every process it started. Checks count failures and the test
# exits non-zero when one failed.
set -uo pipefail
ROOT=$(cd "$1" && pwd)
MODE=$2
T=$(mktemp -d /tmp/rv-bptest.XXXXXX)
BP=$T/buildpacks
EX=$T/examples
failures=0
checks=0
started_pids=()

cleanup() {
  local p
  for p in "${started_pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${started_pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT

cp -R "$ROOT/buildpacks" "$BP"
cp -R "$ROOT/examples" "$EX"
rm -f "$BP"/*/export
mkdir -p "$T/tmp" "$T/home"
case "$MODE" in
  busybox)
    command -v busybox >/dev/null || { echo "busybox not installed (scripts/install-deps)"; exit 1; }
    mkdir -p "$T/bb"
    for a in $(busybox --list); do ln -s "$(command -v busybox)" "$T/bb/$a"; done
    SH=$T/bb/sh
    RUN_PATH=$T/bb:/usr/sbin:/usr/bin:/sbin:/bin ;;
  dash)
    SH=/bin/sh
    RUN_PATH=/usr/sbin:/usr/bin:/sbin:/bin ;;
  *) echo "usage: $0 ROOT dash|busybox"; exit 2 ;;
esac
echo "# mode $MODE: sh is $SH ($(readlink -f "$SH"))"

# run CMD...: in a clean environment, as a build container has it.
run() { env -i PATH="$RUN_PATH" HOME="$T/home" TMPDIR="$T/tmp" BUILDPACK_SH="$SH" "$@"; }
detect() { run "$SH" "$BP/$1/bin/detect" "$2"; }
compile() { run "$SH" "$BP/$1/bin/compile" "$2" "$3" "$4"; }
release() { run "$SH" "$BP/$1/bin/release" "$2"; }
build() { run "$SH" "$BP/bin/build" "$@"; }

# app NAME: a fresh copy of examples/NAME, printed.
app() {
  local d
  d=$(mktemp -d "$T/app.XXXXXX")
  cp -R "$EX/$1/." "$d/"
  echo "$d"
}
newdir() { mktemp -d "$T/d.XXXXXX"; }

ok() { checks=$((checks + 1)); echo "ok   - $1"; }
not_ok() {
  checks=$((checks + 1)); failures=$((failures + 1))
  echo "FAIL - $1"
  [ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/       | /' | head -40
  return 0
}
# check DESC CMD...: CMD exits 0.
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
# expect_eq DESC GOT WANT
expect_eq() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "got:  $2"$'\n'"want: $3"; fi; }
# expect_has DESC TEXT PATTERN (grep -E)
expect_has() { if grep -qE -- "$3" <<<"$2"; then ok "$1"; else not_ok "$1" "no /$3/ in:"$'\n'"$2"; fi; }
expect_lacks() { if grep -qE -- "$3" <<<"$2"; then not_ok "$1" "/$3/ found in:"$'\n'"$2"; else ok "$1"; fi; }
finish() {
  echo "# $checks checks, $failures failed ($MODE)"
  [ "$failures" -eq 0 ]
}

# A listen port nobody else uses while this test runs.
# shellcheck source=/dev/null
source "$ROOT/test/integration/test_ports.bash"
reserve_test_ports || exit 1
next_port=$port

# serve APP_DIR PATHDIRS CMD: starts /bin/sh APP_DIR/.rv/launch CMD with PORT
# set and PATH=PATHDIRS, waits (10 s at most) until GET / answers, and sets
# $page, $served_pid and $served_port. Returns 1 when it never answered.
serve() {
  local dir=$1 path=$2 cmd=$3 i
  served_port=$next_port; next_port=$((next_port + 1))
  mkdir -p "$dir/.rv"
  cp "$BP/bin/launch" "$dir/.rv/launch"
  env -i PATH="$path" PORT="$served_port" TMPDIR="$T/tmp" /bin/sh "$dir/.rv/launch" "$cmd" \
    > "$T/serve.$served_port.log" 2>&1 &
  served_pid=$!
  started_pids+=("$served_pid")
  page=""
  for i in $(seq 1 100); do
    if page=$(curl -fsS --max-time 2 "http://127.0.0.1:$served_port/" 2>/dev/null); then return 0; fi
    kill -0 "$served_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "# server log:"; sed 's/^/#   /' "$T/serve.$served_port.log" | head -20
  return 1
}
# get PATH: the status code of GET PATH on the last served app.
get_code() { curl -s --path-as-is -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$served_port$1"; }
stop_served() { kill "$served_pid" 2>/dev/null; wait "$served_pid" 2>/dev/null; return 0; }
