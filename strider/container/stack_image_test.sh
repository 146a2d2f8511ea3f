#!/usr/bin/env bash
# scripts/stack-image: builds and pushes the busybox stack; a second run does no work.
set -euo pipefail
root=$1 rvimage=$2
d=$(mktemp -d /tmp/rv-stacktest.XXXXXX)
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
pid=""
cleanup() { [ -n "$pid" ] && "$root/scripts/registry" stop "$pid" >/dev/null 2>&1; rm -rf "$d"; }
trap cleanup EXIT
pid=$("$root/scripts/registry" start --dir "$d/reg" --port "$port")
first=$("$root/scripts/stack-image" --registry "127.0.0.1:$port" --rv-image "$rvimage" 2>/dev/null)
out=$("$root/scripts/stack-image" --registry "127.0.0.1:$port" --rv-image "$rvimage" 2>&1 >/dev/null)
second=$("$root/scripts/stack-image" --registry "127.0.0.1:$port" --rv-image "$rvimage" 2>/dev/null)
echo "$out" | grep -q "up to date" || { echo "second run was not cached: $out"; exit 1; }
[ "$first" = "$second" ] || { echo "digest changed: $first vs $second"; exit 1; }
"$rvimage" label --registry "127.0.0.1:$port" --repo stack/busybox --tag latest --key rivendell.stack | grep -q busybox
echo ok
