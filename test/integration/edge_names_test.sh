#!/usr/bin/env bash
# edge_names: names and certificates from sauron to the edge, with the real
# daemons on loopback (no hosts, no containers): sauron with the pod CA, rv-edge
# with HAProxy, rv as the operator.
#
#  * an app gets APP.ENV.TENANT.<pod domain> with a pod-CA certificate at creation,
#    and an app that existed before sauron had a CA gets one at the next start;
#  * rv domains:add / domains / certs / certs:add (own certificate; a key that does
#    not match and a certificate for another name are refused with the reason);
#    a name taken by another app, a wildcard and a name under the pod domain are refused;
#  * the edge follows: HTTP to a new name turns from 404 into a 301 to HTTPS within
#    2 s of `rv domains:add` (the time is printed), an unknown name gets the 404 page,
#    HTTPS with an unknown SNI is refused;
#  * no certificate's private key is in sauron's database, WAL or logs in the clear;
#  * SIGTERM to rv-edge ends its HAProxy too.
#   edge_names_test.sh REPO_ROOT BUILD_DIR
set -uo pipefail
root=$1
build=$2
for p in haproxy openssl curl; do
  PATH=$PATH:/usr/sbin command -v "$p" >/dev/null || { echo "FAIL: $p is not installed (scripts/install-deps installs it)" >&2; exit 1; }
done
. "$root/test/integration/test_ports.bash"
reserve_test_ports || exit 1
dir=$(mktemp -d /tmp/rv-edge-names.XXXXXX)
rv="$build/cli/rv --pod $dir/pod.json"
pids=()
fail() {
  echo "FAIL: $*" >&2
  for f in "$dir"/logs/*.log; do echo "--- $f" >&2; tail -n 15 "$f" >&2; done
  exit 1
}
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
  done
  rm -rf "$dir"
}
trap cleanup EXIT

mkdir -p "$dir/keys" "$dir/logs"
cat >"$dir/pod.json" <<JSON
{"sauron": {"api": "tcp://127.0.0.1:$port", "pub": "tcp://127.0.0.1:$((port + 1))", "beacon_port": -1}}
JSON
http=$((port + 2)) https=$((port + 3))
$rv keygen "$dir/keys/admin.key" >/dev/null || fail "keygen admin"
$rv keygen "$dir/keys/edge.key" >/dev/null || fail "keygen edge"
"$root/scripts/pod-ca" create --dir "$dir/keys" || fail "pod-ca create"

start_sauron() {  # start_sauron [ARGS...]
  "$build/sauron/sauron" --pod "$dir/pod.json" --no-overlay --pod-domain pod.test "$@" >>"$dir/logs/sauron.log" 2>&1 &
  sauron_pid=$!
  pids+=("$sauron_pid")
  for _ in $(seq 1 100); do $rv --timeout-ms 500 hosts >/dev/null 2>&1 && return 0; sleep 0.1; done
  fail "sauron did not answer"
}
stop_sauron() {
  kill -TERM "$sauron_pid"
  for _ in $(seq 1 100); do kill -0 "$sauron_pid" 2>/dev/null || return 0; sleep 0.1; done
  fail "sauron did not stop"
}

# An app created while sauron has no CA gets its name but no certificate...
start_sauron
$rv apps:create acme/prod early >/dev/null || fail "apps:create acme/prod early"
$rv domains acme/prod/early | grep -q "early.prod.acme.pod.test .*default .*none" \
  || fail "an app without a pod CA should have its default name and no certificate: $($rv domains acme/prod/early)"
stop_sauron
# ...and one at the next start with the CA.
start_sauron --pod-ca "$dir/keys/pod-ca"
$rv domains acme/prod/early | grep -q "early.prod.acme.pod.test .*default .*pod-CA .*89d" \
  || fail "the CA's first start should issue the missing certificate: $($rv domains acme/prod/early)"

"$build/edge/rv-edge" --pod "$dir/pod.json" --dir "$dir/edge" --listen 127.0.0.1 --http-port "$http" \
  --https-port "$https" --poll-ms 60000 >>"$dir/logs/edge.log" 2>&1 &
edge_pid=$!
pids+=("$edge_pid")

$rv apps:create acme/prod web >/dev/null || fail "apps:create acme/prod web"
$rv apps:create globex/prod web >/dev/null || fail "apps:create globex/prod web"
$rv domains acme/prod/web | grep -q "web.prod.acme.pod.test .*default .*pod-CA" || fail "no default name: $($rv domains acme/prod/web)"
$rv domains globex/prod/web | grep -q "web.prod.globex.pod.test" || fail "the second tenant's app has no name of its own"

code() {  # code HOST: the edge's HTTP status for Host: HOST
  curl -s -o /dev/null -w '%{http_code}' --max-time 3 -H "Host: $1" "http://127.0.0.1:$http/x" 2>/dev/null
}
for _ in $(seq 1 100); do [ "$(code web.prod.acme.pod.test)" = 301 ] && break; sleep 0.1; done
[ "$(code web.prod.acme.pod.test)" = 301 ] || fail "the edge does not know the default name: $(code web.prod.acme.pod.test)"
loc=$(curl -s -D - -o /dev/null --max-time 3 -H "Host: web.prod.acme.pod.test" "http://127.0.0.1:$http/a?b=1" | tr -d '\r' | awk 'tolower($1) == "location:" {print $2}')
[ "$loc" = "https://web.prod.acme.pod.test:$https/a?b=1" ] || fail "redirect to $loc"
body=$(curl -s --max-time 3 -H "Host: nobody.example.com" "http://127.0.0.1:$http/")
[ "$(code nobody.example.com)" = 404 ] && [[ "$body" == *"No app answers at this name"* ]] || fail "unknown name: $body"

# A custom domain: the edge follows within 2 s.
[ "$(code shop.example.com)" = 404 ] || fail "shop.example.com should be unknown yet"
t0=$(date +%s%N)
$rv domains:add acme/prod/web shop.example.com | grep -q "answers at shop.example.com (certificate: pod-CA)" || fail "domains:add"
for _ in $(seq 1 40); do [ "$(code shop.example.com)" = 301 ] && break; sleep 0.05; done
t1=$(date +%s%N)
[ "$(code shop.example.com)" = 301 ] || fail "the edge did not pick up shop.example.com"
ms=$(((t1 - t0) / 1000000))
echo "edge_names: a new domain reached the edge in $ms ms (rv domains:add to HTTP 301 by the edge.changed notice; fallback poll 60 s)"
[ "$ms" -le 2000 ] || fail "the edge took $ms ms to follow a new name"

out=$($rv domains:add globex/prod/web shop.example.com 2>&1) && fail "a name of two apps was accepted"
[[ "$out" == *"belongs to another tenant's app" && "$out" != *acme* ]] || fail "taken name: $out"
out=$($rv domains:add acme/prod/web '*.example.com' 2>&1) && fail "a wildcard was accepted"
[[ "$out" == *"wildcard"* ]] || fail "wildcard: $out"
out=$($rv domains:add acme/prod/web web.prod.globex.pod.test 2>&1) && fail "another app's pod name was accepted"
[[ "$out" == *"under the pod domain"* ]] || fail "pod domain: $out"

# The operator's own certificate: refused when wrong, installed when right.
mkdir -p "$dir/op"
"$root/scripts/pod-ca" create --dir "$dir/op" || fail "operator CA"
"$root/scripts/pod-ca" issue --dir "$dir/op" --out "$dir/op/shop" --name shop.example.com || fail "issue shop"
"$root/scripts/pod-ca" issue --dir "$dir/op" --out "$dir/op/other" --name other.example.com || fail "issue other"
out=$($rv certs:add shop.example.com --cert "$dir/op/shop.crt" --key "$dir/op/other.key" 2>&1) && fail "a key of another certificate was accepted"
[[ "$out" == *"does not match"* ]] || fail "mismatched key: $out"
out=$($rv certs:add shop.example.com --cert "$dir/op/other.crt" --key "$dir/op/other.key" 2>&1) && fail "a certificate for another name was accepted"
[[ "$out" == *"does not cover"* ]] || fail "wrong name: $out"
$rv certs:add shop.example.com --cert "$dir/op/shop.crt" --key "$dir/op/shop.key" >/dev/null || fail "certs:add"
$rv certs | grep -q "shop.example.com .*acme/prod/web .*custom .*custom" || fail "certs: $($rv certs)"
$rv certs:renew --force | grep -q "shop.example.com" && fail "forced renewal replaced the operator's certificate"

# HTTPS: an unknown SNI is refused by the edge (no env proxy runs here: a known
# name's connection goes to an empty backend and is closed too).
if echo | openssl s_client -connect "127.0.0.1:$https" -servername nobody.example.com -CAfile "$dir/keys/pod-ca.crt" \
  </dev/null 2>&1 | grep -q "BEGIN CERTIFICATE"; then
  fail "the edge answered TLS for an unknown name"
fi

# No private key in the clear in sauron's files (db, WAL, shm, logs): neither the
# operator's key body nor any PEM key header.
body=$(sed -n 2p "$dir/op/shop.key")
[ -s "$dir/sauron.db" ] && [ -n "$body" ] || fail "no database or no key body to look for"
hits=$(grep -r -l -a -F -e "$body" -e "PRIVATE KEY" "$dir" --exclude-dir=keys --exclude-dir=op 2>/dev/null)
[ -z "$hits" ] || fail "a private key in the clear in: $hits"

# rv-edge ends its HAProxy on SIGTERM.
hp=$(pgrep -P "$edge_pid" haproxy | head -n 1)
[ -n "$hp" ] || fail "rv-edge runs no haproxy"
kill -TERM "$edge_pid"
for _ in $(seq 1 100); do kill -0 "$edge_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$edge_pid" 2>/dev/null && fail "rv-edge did not stop"
for _ in $(seq 1 50); do kill -0 "$hp" 2>/dev/null || break; sleep 0.1; done
kill -0 "$hp" 2>/dev/null && fail "haproxy $hp outlived rv-edge"
echo "edge_names: ok"
