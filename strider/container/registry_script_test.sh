#!/usr/bin/env bash
# scripts/registry: start prints a PID that answers /v2/, stop kills it.
set -euo pipefail
root=$1
d=$(mktemp -d /tmp/rv-regtest.XXXXXX)
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$d"; }
trap cleanup EXIT
pid=$("$root/scripts/registry" start --dir "$d" --port "$port")
kill -0 "$pid"
curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null
grep -q "addr: 127.0.0.1:$port" "$d/config.yml"
"$root/scripts/registry" status --dir "$d"
if "$root/scripts/registry" start --dir "$d" --port "$port" 2>/dev/null; then echo "second start should fail"; exit 1; fi
"$root/scripts/registry" stop --dir "$d"
for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$pid" 2>/dev/null; then echo "still running"; exit 1; fi
pid=""
echo ok
