#!/usr/bin/env bash
# registry_auth: the pod's registry in TLS + auth mode (scripts/registry with
# --tls-cert, nginx in front of docker-registry) and the pod CA (scripts/pod-ca),
# driven by the real C++ client (rv-image on RegistryClient), curl and openssl:
#  * the registry's certificate from scripts/pod-ca (its own test: pod_ca_test.sh);
#  * no credential -> 401; the pull credential reads but a push is 403
#    ("may not push"); the push credential pushes (a 24 MB layer, monolithic
#    and chunked); a wrong password -> "refused the credentials";
#  * credentials are never sent without TLS; a client with another CA refuses
#    the server; plain HTTP to the TLS port gets no registry answer;
#  * the certificate verifies against the pod CA; TLS 1.1 is refused, 1.2 and 1.3 work;
#  * no password (nor its base64) in any log or client output;
#  * stop (by dir and by the registry's PID) leaves no nginx or registry process.
# Runs as any user (CI: root). Programs missing -> FAIL, never a silent skip.
#   registry_auth_test.sh REPO_ROOT RV_IMAGE_BIN
set -uo pipefail
root=$1
rv_image=$2
for p in docker-registry nginx openssl curl base64; do
  PATH=$PATH:/usr/sbin:/sbin command -v "$p" >/dev/null || { echo "FAIL: registry_auth: $p is not installed (scripts/install-deps)" >&2; exit 1; }
done
[ -x "$rv_image" ] || { echo "FAIL: no rv-image at $rv_image" >&2; exit 1; }
. "$root/test/integration/test_ports.bash"
reserve_test_ports || exit 1
dir=$(mktemp -d /tmp/rv-regauth.XXXXXX)
reg="$root/scripts/registry"
ca="$root/scripts/pod-ca"
keys=$dir/keys
fail() {
  echo "FAIL: $*" >&2
  tail -n 5 "$dir"/reg/nginx/error.log "$dir"/reg/registry.log >&2 2>/dev/null || true
  exit 1
}
cleanup() {
  "$reg" stop --dir "$dir/reg" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

# ---- the pod CA ----
"$ca" create --dir "$keys" || fail "pod-ca create"
[ "$(stat -c %a "$keys/pod-ca.key")" = 600 ] || fail "the CA key is not 0600"
fp=$(openssl x509 -in "$keys/pod-ca.crt" -noout -fingerprint -sha256)
"$ca" create --dir "$keys" || fail "pod-ca create (again)"
[ "$(openssl x509 -in "$keys/pod-ca.crt" -noout -fingerprint -sha256)" = "$fp" ] || fail "a second create replaced the CA"
"$ca" issue --dir "$keys" --out "$keys/registry" --ip 127.0.0.1 --name registry.pod || fail "pod-ca issue"
[ "$(stat -c %a "$keys/registry.key")" = 600 ] || fail "the leaf key is not 0600"
openssl verify -CAfile "$keys/pod-ca.crt" "$keys/registry.crt" >/dev/null || fail "the leaf does not verify against the pod CA"
openssl x509 -in "$keys/registry.crt" -noout -ext subjectAltName | grep -q "IP Address:127.0.0.1" || fail "no IP SAN"
echo "pod-ca: create idempotent, leaf verifies (bad arguments: pod_ca_test.sh)"

# ---- credentials and the registry ----
push_pw=$(openssl rand -hex 24) pull_pw=$(openssl rand -hex 24)
(umask 077 && echo "rv-push:$push_pw" >"$dir/push.cred" && echo "rv-pull:$pull_pw" >"$dir/pull.cred" \
  && echo "rv-push:wrong-password-$$" >"$dir/wrong.cred")
pid=$("$reg" start --dir "$dir/reg" --port "$port" --backend-port "$((port + 1))" --tls-cert "$keys/registry.crt" \
  --tls-key "$keys/registry.key" --push-cred "$dir/push.cred" --pull-cred "$dir/pull.cred") || fail "registry start (TLS)"
[ "$(cat "$dir/reg/endpoint")" = "127.0.0.1:$port tls" ] || fail "endpoint: $(cat "$dir/reg/endpoint")"
grep -q "addr: 127.0.0.1:$((port + 1))" "$dir/reg/config.yml" || fail "docker-registry is not on loopback behind nginx"
[ "$(stat -c %a "$dir/reg/nginx/nginx.conf")" = 600 ] || fail "nginx.conf is not 0600"
"$reg" status --dir "$dir/reg" || fail "status of a running TLS registry"
url=https://127.0.0.1:$port
cacert=(--cacert "$keys/pod-ca.crt")
code() { curl -s -o /dev/null -w '%{http_code}' -m 5 "${cacert[@]}" "$@"; }
# curl's -u from a config on stdin: no password in argv.
code_as() { local f=$1; shift; printf 'user = "%s"\n' "$(cat "$f")" | curl -s -o /dev/null -w '%{http_code}' -m 5 -K - "${cacert[@]}" "$@"; }

[ "$(code "$url/v2/")" = 401 ] || fail "anonymous GET /v2/ is not 401"
curl -s -D - -o /dev/null -m 5 "${cacert[@]}" "$url/v2/" | grep -qi '^WWW-Authenticate: Basic' || fail "no WWW-Authenticate on 401"
[ "$(code -X POST "$url/v2/t/a/blobs/uploads/")" = 401 ] || fail "anonymous POST is not 401"
[ "$(code_as "$dir/pull.cred" "$url/v2/")" = 200 ] || fail "pull credential: GET /v2/ is not 200"
[ "$(code_as "$dir/pull.cred" -X POST "$url/v2/t/a/blobs/uploads/")" = 403 ] || fail "pull credential: POST is not 403"
[ "$(code_as "$dir/pull.cred" -X DELETE "$url/v2/t/a/manifests/sha256:$(printf %064d 0)")" = 403 ] || fail "pull credential: DELETE is not 403"
[ "$(code_as "$dir/wrong.cred" "$url/v2/")" = 401 ] || fail "a wrong password is not 401"
echo "http: anonymous 401, pull GET 200 / POST+DELETE 403, wrong password 401"

# ---- the C++ client (rv-image) ----
mkdir -p "$dir/layer/bin"
head -c $((24 << 20)) /dev/urandom >"$dir/layer/bin/blob"
echo hello >"$dir/layer/hello.txt"
img() { "$rv_image" "$@" --registry "127.0.0.1:$port" --registry-ca "$keys/pod-ca.crt"; }
t0=$(date +%s%N)
d1=$(img push-dir --repo t/app --tag v1 --label k=v1 --registry-auth "$dir/push.cred" "$dir/layer" 2>"$dir/push1.err") \
  || fail "push with the push credential: $(cat "$dir/push1.err")"
t1=$(date +%s%N)
echo "x" >>"$dir/layer/hello.txt"
d2=$(img push-dir --repo t/app --tag v2 --chunk $((5 << 20)) --label k=v2 --registry-auth "$dir/push.cred" "$dir/layer" 2>"$dir/push2.err") \
  || fail "chunked push with the push credential: $(cat "$dir/push2.err")"
echo "push: 24 MB layer over TLS in $(( (t1 - t0) / 1000000 )) ms; chunked (5 MB) push ok"
got=$(img digest --repo t/app --tag v1 --registry-auth "$dir/pull.cred" 2>"$dir/pull.err") || fail "pull credential cannot read: $(cat "$dir/pull.err")"
[ "$got" = "$d1" ] || fail "digest read with the pull credential differs: $got vs $d1"
[ "$(img label --repo t/app --tag v2 --key k --registry-auth "$dir/pull.cred")" = v2 ] || fail "label v2 via the pull credential"
img export-oci --repo t/app --tag v2 --registry-auth "$dir/pull.cred" "$dir/oci" 2>"$dir/export.err" \
  || fail "pulling every blob with the pull credential: $(cat "$dir/export.err")"
[ -n "$d2" ] || fail "no digest for v2"

img push-dir --repo t/app --tag evil --registry-auth "$dir/pull.cred" "$dir/layer" >/dev/null 2>"$dir/pullpush.err" \
  && fail "the pull credential pushed"
grep -q "may not push" "$dir/pullpush.err" || fail "no 'may not push' message: $(cat "$dir/pullpush.err")"
img digest --repo t/app --tag evil --registry-auth "$dir/push.cred" >/dev/null 2>&1 && fail "tag 'evil' exists after a refused push"
img digest --repo t/app --tag v1 --registry-auth "$dir/wrong.cred" >/dev/null 2>"$dir/wrong.err" && fail "a wrong password read"
grep -q "refused the credentials" "$dir/wrong.err" || fail "no 'refused the credentials': $(cat "$dir/wrong.err")"
img digest --repo t/app --tag v1 >/dev/null 2>"$dir/anon.err" && fail "anonymous read"
grep -q "needs credentials" "$dir/anon.err" || fail "no 'needs credentials': $(cat "$dir/anon.err")"
"$rv_image" digest --repo t/app --tag v1 --registry "127.0.0.1:$port" --registry-auth "$dir/push.cred" >/dev/null 2>"$dir/plain.err" \
  && fail "credentials went without TLS"
grep -q "only sent over https" "$dir/plain.err" || fail "no 'only sent over https': $(cat "$dir/plain.err")"
"$ca" create --dir "$dir/other" >/dev/null || fail "second CA"
"$rv_image" digest --repo t/app --tag v1 --registry "127.0.0.1:$port" --registry-ca "$dir/other/pod-ca.crt" \
  --registry-auth "$dir/push.cred" >/dev/null 2>"$dir/otherca.err" && fail "a client trusting another CA talked to the registry"
grep -q "TLS failed" "$dir/otherca.err" || fail "no TLS failure message with another CA: $(cat "$dir/otherca.err")"
chmod 644 "$dir/pull.cred"
img digest --repo t/app --tag v1 --registry-auth "$dir/pull.cred" >/dev/null 2>"$dir/mode.err" && fail "a world-readable credential was used"
grep -q "chmod 600" "$dir/mode.err" || fail "no mode message: $(cat "$dir/mode.err")"
chmod 600 "$dir/pull.cred"
echo "client: push/pull rights, wrong password, anonymous, no TLS, another CA, 0644 file: all as expected"

# ---- TLS ----
plain=$(curl -s -m 5 "http://127.0.0.1:$port/v2/" -w ' %{http_code}')
case "$plain" in *" 200") fail "plain HTTP to the TLS port got 200" ;; esac
grep -q '{}' <<<"$plain" && fail "plain HTTP reached the registry"
"$rv_image" digest --repo t/app --tag v1 --registry "http://127.0.0.1:$port" >/dev/null 2>&1 && fail "plain HTTP client read an image"
echo | openssl s_client -connect "127.0.0.1:$port" -tls1_2 -CAfile "$keys/pod-ca.crt" -verify_return_error \
  -verify_ip 127.0.0.1 >"$dir/s12.out" 2>&1 || fail "TLS 1.2 handshake: $(tail -n 3 "$dir/s12.out")"
grep -q "Verify return code: 0 (ok)" "$dir/s12.out" || fail "the certificate does not verify against the pod CA"
echo | openssl s_client -connect "127.0.0.1:$port" -tls1_3 -CAfile "$keys/pod-ca.crt" -verify_return_error >/dev/null 2>&1 \
  || fail "TLS 1.3 handshake"
# SECLEVEL=0 lets our client offer TLS 1.1: the refusal must come from the server.
echo | openssl s_client -connect "127.0.0.1:$port" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' >"$dir/s11.out" 2>&1 \
  && fail "TLS 1.1 handshake succeeded"
grep -qi "alert protocol version\|unsupported protocol" "$dir/s11.out" || fail "TLS 1.1 not refused by the server: $(tail -n 3 "$dir/s11.out")"
echo "tls: cert verifies against the pod CA, 1.2 and 1.3 ok, 1.1 refused by the server, plain HTTP gets no registry"

# ---- no password in logs or output ----
for pw in "$push_pw" "$pull_pw" "$(printf 'rv-push:%s' "$push_pw" | base64 -w0)" "$(printf 'rv-pull:%s' "$pull_pw" | base64 -w0)"; do
  if grep -rlaF -- "$pw" "$dir/reg/registry.log" "$dir/reg/nginx/"*.log "$dir/reg/config.yml" "$dir"/*.err; then
    fail "a password (or its encoding) is in the logs or client output above"
  fi
done
grep -q " rv-pull " "$dir/reg/nginx/access.log" || fail "the access log does not name users (is it written?)"
echo "logs: no password or encoding in $(ls "$dir/reg/nginx/"*.log "$dir"/*.err | wc -l) logs/outputs"

# ---- stop ----
np=$(cat "$dir/reg/nginx.pid")
"$reg" stop --dir "$dir/reg" || fail "stop"
for p in "$pid" "$np"; do
  for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$p" 2>/dev/null && fail "process $p still runs after stop"
done
pgrep -f "$dir/reg/nginx/nginx.conf" >/dev/null && fail "an nginx worker of this registry is left"
[ -e "$dir/reg/nginx.pid" ] && fail "nginx.pid left"
# Stop by the registry's PID alone also finds its nginx.
pid=$("$reg" start --dir "$dir/reg" --port "$port" --backend-port "$((port + 1))" --tls-cert "$keys/registry.crt" \
  --tls-key "$keys/registry.key" --push-cred "$dir/push.cred") || fail "registry restart (push only)"
[ "$(code_as "$dir/pull.cred" "$url/v2/")" = 401 ] || fail "a credential not given at start is accepted"
img digest --repo t/app --tag v1 --registry-auth "$dir/push.cred" >/dev/null || fail "storage lost across a restart"
np=$(cat "$dir/reg/nginx.pid")
"$reg" stop "$pid" || fail "stop PID"
for p in "$pid" "$np"; do
  for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$p" 2>/dev/null && fail "process $p still runs after stop PID"
done
pgrep -f "$dir/reg/nginx/nginx.conf" >/dev/null && fail "an nginx worker is left after stop PID"
echo "PASS: registry_auth"
