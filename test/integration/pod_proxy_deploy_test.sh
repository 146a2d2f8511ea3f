#!/usr/bin/env bash
# pod_proxy_deploy: issue 18's deploy loop and tenant isolation through the
# pod's edge (docs/PROXY.md), on a pod of 3 namespace hosts (scripts/pod up).
# Every request goes to the app's HTTPS name at the edge (curl --resolve
# NAME:EDGE_PORT:EDGE_ADDR --cacert DIR/keys/pod-ca.crt): edge (SNI, TCP
# mode) -> the env's proxy (TLS ends) -> the env's overlay -> a web replica.
#
#   1. tenant A (acme/qPID/web) deployed with rv-deploy (the fake builder: a
#      Procfile over the stack image, no build) and scaled to 3 web replicas
#      on 3 hosts; a sequential client loop (curl -f -m 5) runs throughout a
#      deploy of a new release (v2) and a rollback to v1 (as v3): zero failed
#      requests; after the deploy every answer is v2's content, after the
#      rollback v1's again.
#   2. tenant B (globex/qPID/web, its own env and proxies) is not reachable
#      through A: SNI = A's name with Host = B's name gets A's proxy's 404
#      (never B's content), and the reverse; B's name sent to A's proxy
#      ingress directly gets no certificate the pod CA vouches for, and only a
#      404 with the check turned off; each name answers with its own
#      certificate (openssl s_client -servername -verify_return_error against
#      the pod CA, SAN checked); TLS 1.1 is refused, TLS 1.2 and 1.3 accepted.
#   3. a custom domain (rv domains:add) answers A's app through the edge with
#      a pod-CA certificate; after rv certs:add both of A's proxies serve the
#      operator's certificate for it instead; both changes reach the proxies
#      by the runtime API (no reload).
#   pod_proxy_deploy_test.sh REPO_ROOT BUILD_DIR
set -u
. "$1/test/integration/proxy_pod.bash"
proxy_pod_bins="$proxy_pod_bins deploy/rv-deploy"
proxy_pod_start pod_proxy_deploy "$1" "$2" /tmp/rv-podpd runc docker-registry ip nsenter curl openssl haproxy jq
envA=acme/q$$ envB=globex/q$$
appA=$envA/web appB=$envB/web
nameA=web.q$$.acme.rivendell.test nameB=web.q$$.globex.rivendell.test
# fail_more: the client loop and the deploys, before the pod's state (proxy_pod.bash's fail).
fail_more() {
  local f
  [ -e "$dir/loop.log" ] && { echo "--- client loop (last 15)" >&2; tail -n 15 "$dir/loop.log" >&2; }
  [ -s "$dir/loop.err" ] && { echo "--- client loop errors" >&2; sort "$dir/loop.err" | uniq -c | head -n 10 >&2; }
  [ -e "$dir/loop.log" ] && grep -q ' FAIL$' "$dir/loop.log" && { echo "--- failed requests (ms since epoch, 3 lines around)" >&2; grep -C 3 ' FAIL$' "$dir/loop.log" | head -n 40 >&2; }
  for f in "$dir"/deploy-*.log; do [ -e "$f" ] && { echo "--- $(basename "$f")" >&2; tail -n 20 "$f" >&2; }; done
  $rv releases "$appA" >&2 || true
}

t_all=$(date +%s%N)
proxy_pod_up

# deploy SRC LOG: rv-deploy of SRC to tenant A's app (fake builder: no build).
deploy() {
  timeout 150 "$RV_BUILD/deploy/rv-deploy" --pod "$dir/pod.json" --app "$appA" --commit "$(printf %s "$1" | sha1sum | cut -c1-40)" \
    --source "$1" --user alice --builder "$root/test/integration/fake_builder.sh" --boot-timeout-s 90 >"$2" 2>&1
}
# app_src DIR WORD: a Procfile app answering "WORD-vN JOBID" on $PORT.
app_src() {
  mkdir -p "$1"
  echo "web: mkdir -p /tmp/w && echo $2-\$RV_RELEASE \$RV_JOB_ID >/tmp/w/index.html && exec httpd -f -p \$PORT -h /tmp/w" >"$1/Procfile"
}
# web_of RELEASE: how many of A's web replicas of RELEASE run, on distinct hosts.
web_hosts() { $rv ps "$appA" | awk -v r="$1" '$2 == "web" && $3 == r && $7 == "running" {print $6}' | sort -u | wc -l; }
# settled WANT: the next 12 answers at A's name all start with WANT, and so do
# the next 6 at each of A's two proxies on its own (the edge may have sent all
# 12 through one of them while the other still had the old replicas); polled,
# up to 20 s in all. Prints how long it took.
settled() {
  local b ok=0 t0 px h p
  t0=$(date +%s%N)
  for _ in $(seq 1 200); do
    b=$(edge "$nameA" -f 2>/dev/null)
    if [ "${b%% *}" = "$1" ]; then ok=$((ok + 1)); else ok=0; fi
    [ "$ok" -ge 12 ] && break
    [ "$(ms "$t0")" -gt 20000 ] && break
  done
  [ "$ok" -ge 12 ] || fail "A's name does not answer only '$1' (last answer '$b')"
  for px in "${envA/\//.}.proxy-1" "${envA/\//.}.proxy-2"; do
    h=$(host_of "$px")
    p=$($rv ps | awk -v id="$px" '$1 == id' | proxy_port_in)
    [ -n "$h" ] && [ -n "$p" ] || fail "no host or port for $px"
    ok=0
    for _ in $(seq 1 200); do
      b=$(ingress "$nameA" "$p" "$h" --cacert "$ca" -f 2>/dev/null)
      if [ "${b%% *}" = "$1" ]; then ok=$((ok + 1)); else ok=0; fi
      [ "$ok" -ge 6 ] && break
      [ "$(ms "$t0")" -gt 20000 ] && break
    done
    [ "$ok" -ge 6 ] || fail "$px does not answer only '$1' at A's name (last answer '$b')"
  done
  echo "$(ms "$t0")"
}

# 1. Tenant A: v1, scaled to 3 web replicas on 3 hosts, answering at its name.
app_src "$dir/src1" one
app_src "$dir/src2" two
$rv apps:create "$envA" web >/dev/null || fail "apps:create $appA"
t0=$(date +%s%N)
deploy "$dir/src1" "$dir/deploy-1.log" || fail "deploy v1 exited $?"
$rv ps:scale "$appA" web=3 >"$dir/deploy-1s.log" 2>&1 || fail "ps:scale web=3"
for _ in $(seq 1 300); do [ "$(web_hosts v1)" = 3 ] && break; sleep 0.2; done
[ "$(web_hosts v1)" = 3 ] || fail "v1 does not run 3 web replicas on 3 hosts"
echo "A: v1 with 3 web replicas on 3 hosts in $(ms "$t0") ms"
t0=$(date +%s%N)
settled one-v1 >/dev/null
echo "A: $nameA answers v1 through the edge $(ms "$t0") ms later"
seen=""
for _ in $(seq 1 60); do
  b=$(edge "$nameA" -f 2>/dev/null) && case " $seen " in *" ${b#* } "*) ;; *) seen="$seen ${b#* }" ;; esac
  [ "$(echo $seen | wc -w)" = 3 ] && break
done
[ "$(echo $seen | wc -w)" = 3 ] || fail "A's name answered by '$seen', want all 3 replicas"

# The client loop: sequential requests at A's name through the edge until
# loop.stop exists (bounded: 300 s). Each line: ms-since-epoch ok BODY | FAIL.
loop() {
  local b end=$(($(date +%s) + 300))
  while [ ! -e "$dir/loop.stop" ] && [ "$(date +%s)" -lt "$end" ]; do
    if b=$(edge "$nameA" -f 2>>"$dir/loop.err"); then
      echo "$(date +%s%3N) ok $b"
    else
      echo "$(date +%s%3N) FAIL"
    fi
  done >"$dir/loop.log"
}
: >"$dir/loop.err"
loop &
loop_pid=$!
# Let the loop run before the deploy so it covers the start of the rollout.
for _ in $(seq 1 100); do [ "$(cat "$dir/loop.log" 2>/dev/null | grep -c ' ok ')" -ge 5 ] && break; sleep 0.1; done

t0=$(date +%s%N)
deploy "$dir/src2" "$dir/deploy-2.log" || fail "deploy v2 exited $?"
grep -q "^-----> Released v2" "$dir/deploy-2.log" || fail "deploy did not release v2"
d_deploy=$(ms "$t0")
d_settle=$(settled two-v2) || exit 1
echo "A: deploy v2 took $d_deploy ms; only v2 answers $d_settle ms after it returned"
[ "$(web_hosts v2)" = 3 ] || fail "v2 does not run 3 web replicas on 3 hosts"
mark=$(wc -l <"$dir/loop.log")

t0=$(date +%s%N)
$rv rollback "$appA" v1 --boot-timeout-s 90 >"$dir/deploy-3.log" 2>&1 || fail "rollback exited $?"
grep -q "^-----> Released v3" "$dir/deploy-3.log" || fail "rollback did not release v3"
d_rb=$(ms "$t0")
d_settle=$(settled one-v3) || exit 1
mark2=$(wc -l <"$dir/loop.log")
echo "A: rollback to v1 (v3) took $d_rb ms; only v1's content (one-v3) answers $d_settle ms after it returned"
# A few more loop requests after the rollback settled, then stop the loop.
n=$(wc -l <"$dir/loop.log")
for _ in $(seq 1 100); do [ "$(wc -l <"$dir/loop.log")" -ge $((n + 5)) ] && break; sleep 0.1; done
touch "$dir/loop.stop"
wait "$loop_pid"
loop_pid=""
total=$(wc -l <"$dir/loop.log")
bad=$(grep -c ' FAIL$' "$dir/loop.log")
echo "client loop through the deploy and the rollback: $total requests, $bad failed;" \
  "answers: $(awk '$2 == "ok" {print $3}' "$dir/loop.log" | uniq -c | awk '{printf "%s x%s ", $2, $1}')"
[ "$total" -ge 30 ] || fail "only $total requests in the loop"
[ "$bad" = 0 ] || fail "$bad of $total requests failed during the deploy/rollback"
# The loop saw v1, v2 and v1's content again as v3; once the deploy had
# settled no answer was v1's, once the rollback had, none was v2's.
for w in one-v1 two-v2 one-v3; do
  awk '$2 == "ok" {print $3}' "$dir/loop.log" | grep -qx "$w" || fail "the loop never got $w"
done
awk -v m="$mark" 'NR > m && $3 == "one-v1"' "$dir/loop.log" | grep -q . && fail "v1 answered after the deploy had settled"
awk -v m="$mark2" 'NR > m && $3 == "two-v2"' "$dir/loop.log" | grep -q . && fail "v2 answered after the rollback had settled"
tail -n 1 "$dir/loop.log" | grep -q ' ok one-v3 ' || fail "the loop's last answer is not v1's content (one-v3)"
# The new replicas went into each proxy by the runtime API (`add server`,
# no reload first: strider/proxy_runtime.h), each taken whole.
for p in acme.q$$.proxy-1 acme.q$$.proxy-2; do
  h=$(host_of "$p")
  lines=$(grep -h "proxy $p: .* added by the runtime API" "$dir/logs/strider-$h.log")
  whole=$(grep -c "(\([1-9][0-9]*\) of \1 commands taken" <<<"$lines")
  [ "$whole" -ge 1 ] || fail "no new replica went into $p by the runtime API: ${lines:-no such line}"
  echo "$p: $whole of $(grep -c . <<<"$lines") additions taken whole by the runtime API"
done

# 2. Tenant B: its own env, app and proxies.
$rv apps:create "$envB" web >/dev/null || fail "apps:create $appB"
$rv submit --service gweb --replicas 1 --image stack/busybox:latest --port 8080 --env "$envB" --app web -- \
  /bin/sh -c 'mkdir -p /tmp/w && echo "globex-$RV_JOB_ID" >/tmp/w/index.html && exec httpd -f -p 8080 -h /tmp/w' >/dev/null \
  || fail "submit B's web"
$rv proxy:ensure "$envB" >"$dir/ensureB.log" || fail "proxy:ensure $envB"
# A's proxies (made by rv-deploy) run already: their port from rv ps.
pportA=$($rv ps | awk -v id="acme.q$$.proxy-1" '$1 == id' | proxy_port_in)
pportB=$(proxy_port_in <"$dir/ensureB.log")
[ -n "$pportA" ] && [ -n "$pportB" ] || fail "no proxy port for A ('$pportA', rv ps) or B ('$pportB'): $(cat "$dir/ensureB.log")"
[ "$pportA" != "$pportB" ] || fail "the two envs' proxy ports collide ($pportA): rename the envs"
t0=$(date +%s%N)
b=""
for _ in $(seq 1 600); do
  b=$(edge "$nameB" -f 2>/dev/null) && [ "$b" = globex-gweb-1 ] && break
  sleep 0.2
  [ "$(ms "$t0")" -gt 90000 ] && break
done
[ "$b" = globex-gweb-1 ] || fail "B's name does not answer B's app through the edge: '$b'"
echo "B: $nameB answers through the edge ($(ms "$t0") ms after submit)"

# SNI picks the env's proxy, Host the app inside it: a Host of the other
# tenant finds nothing there.
for pair in "$nameA $nameB" "$nameB $nameA"; do
  set -- $pair
  out=$(edge "$1" -H "Host: $2" -w '\n%{http_code}')
  code=${out##*$'\n'}
  [ "$code" = 404 ] || fail "SNI $1 with Host $2 got $code, want 404: $out"
  case "$out" in *globex-*|*one-v*) fail "SNI $1 with Host $2 reached an app: $out" ;; esac
done
echo "SNI of one tenant with Host of the other: 404 both ways"
# B's name at A's proxy ingress (HOSTADDR:PORT, PROXY protocol as the edge sends it).
hA=$(host_of acme.q$$.proxy-1)
[ -n "$hA" ] || fail "no host for acme.q$$.proxy-1"
direct() { ingress "$nameB" "$pportA" "$hA" "$@"; }
direct --cacert "$ca" -o /dev/null 2>"$dir/direct.err"
rc=$?
[ "$rc" = 60 ] || fail "B's name at A's proxy ingress: curl exit $rc, want 60 (no certificate for it): $(cat "$dir/direct.err")"
out=$(direct -k -w '\n%{http_code}')
[ "${out##*$'\n'}" = 404 ] || fail "B's name at A's proxy ingress (unverified): $out, want 404"
case "$out" in *globex-*) fail "A's proxy served B's app: $out" ;; esac
echo "B's name at A's proxy ingress ($(hostaddr "$hA"):$pportA): no pod-CA certificate (curl 60), 404 unverified"

# Each name's certificate at the edge, verified against the pod CA, SAN = the name.
sclient() { timeout 15 openssl s_client -connect "$edge_addr:$eport" -CAfile "$ca" -verify_return_error "$@" </dev/null 2>&1; }
for n in "$nameA" "$nameB"; do
  sclient -servername "$n" -verify_hostname "$n" >"$dir/sc.out" || fail "s_client $n: $(tail -n 5 "$dir/sc.out")"
  grep -q 'Verify return code: 0 (ok)' "$dir/sc.out" || fail "s_client $n: not verified: $(grep 'Verify' "$dir/sc.out")"
  san=$(openssl x509 -noout -ext subjectAltName <"$dir/sc.out" | tail -n +2 | tr -d ' ')
  [ "$san" = "DNS:$n" ] || fail "the certificate served for $n has SAN '$san'"
done
# B's certificate does not pass for A's name.
sclient -servername "$nameB" -verify_hostname "$nameA" >"$dir/sc.out" && fail "B's certificate verified for A's name"
echo "each name has its own pod-CA certificate (SAN checked), B's does not verify as A's"
# Protocol versions: the client offers TLS 1.1 (SECLEVEL=0 lets OpenSSL 3
# send it), the proxy must refuse; 1.2 and 1.3 are accepted.
sclient -servername "$nameA" -tls1_1 -cipher 'DEFAULT@SECLEVEL=0' >"$dir/sc11.out" && fail "TLS 1.1 accepted: $(grep -E 'Protocol|Cipher' "$dir/sc11.out")"
grep -q 'no protocols available' "$dir/sc11.out" && fail "this openssl could not offer TLS 1.1: the check proves nothing"
grep -qi 'alert protocol version' "$dir/sc11.out" || fail "TLS 1.1 not refused with a protocol_version alert: $(tail -n 5 "$dir/sc11.out")"
for v in 1_2 1_3; do
  sclient -servername "$nameA" "-tls$v" >"$dir/sc.out" || fail "TLS ${v/_/.} refused: $(tail -n 5 "$dir/sc.out")"
  grep -q "Protocol *: TLSv${v/_/.}" "$dir/sc.out" || grep -q "New, TLSv${v/_/.}," "$dir/sc.out" \
    || fail "TLS ${v/_/.}: $(grep -E 'Protocol|New,' "$dir/sc.out")"
done
echo "TLS 1.1 refused (protocol_version alert); TLS 1.2 and 1.3 accepted"

# 3. A custom domain (rv domains:add) answers through the edge and A's
# proxies with its pod-CA certificate; then the operator's own certificate
# for it (rv certs:add, from another CA) is the one both proxies serve.
shop=shop.q$$.example.com
t0=$(date +%s%N)
$rv domains:add "$appA" "$shop" >"$dir/domains.log" 2>&1 || fail "domains:add: $(cat "$dir/domains.log")"
b=""
for _ in $(seq 1 100); do
  b=$(edge "$shop" -f 2>/dev/null) && [ "${b%% *}" = one-v3 ] && break
  sleep 0.1
done
[ "${b%% *}" = one-v3 ] || fail "$shop does not answer A's app through the edge: '$b' ($(edge "$shop" 2>&1 | head -c 300))"
echo "A: custom domain $shop answers through the edge $(ms "$t0") ms after rv domains:add (pod-CA certificate)"
"$root/scripts/pod-ca" create --dir "$dir/op" >/dev/null || fail "operator CA"
"$root/scripts/pod-ca" issue --dir "$dir/op" --out "$dir/op/shop" --name "$shop" >/dev/null || fail "issue $shop"
t0=$(date +%s%N)
$rv certs:add "$shop" --cert "$dir/op/shop.crt" --key "$dir/op/shop.key" >"$dir/certs.log" 2>&1 || fail "certs:add: $(cat "$dir/certs.log")"
# Each proxy on its own (the edge may pick either): verified against the operator's CA.
for px in acme.q$$.proxy-1 acme.q$$.proxy-2; do
  h=$(host_of "$px")
  ok=""
  for _ in $(seq 1 100); do
    ingress "$shop" "$pportA" "$h" --cacert "$dir/op/pod-ca.crt" -f -o /dev/null 2>/dev/null && { ok=1; break; }
    sleep 0.1
  done
  [ -n "$ok" ] || fail "$px does not serve the operator's certificate for $shop: $(ingress "$shop" "$pportA" "$h" --cacert "$dir/op/pod-ca.crt" -o /dev/null 2>&1)"
done
edge "$shop" -f -o /dev/null 2>/dev/null && fail "$shop still verifies against the pod CA after certs:add"
echo "A: the operator's certificate for $shop served by both proxies $(ms "$t0") ms after rv certs:add"
# Both changes went into each proxy by the runtime API (ssl cert, crt-list and
# map commands: strider/proxy_runtime.h), each taken whole, with no reload.
for p in acme.q$$.proxy-1 acme.q$$.proxy-2; do
  h=$(host_of "$p")
  lines=$(grep -h "proxy $p: names and certificates set by the runtime API" "$dir/logs/strider-$h.log")
  whole=$(grep -c "(\([1-9][0-9]*\) of \1 commands taken" <<<"$lines")
  [ "$whole" -ge 2 ] || fail "the new name and certificate did not go into $p by the runtime API: ${lines:-no such line}"
  echo "$p: $whole name and certificate changes taken whole by the runtime API"
done
echo "PASS: pod_proxy_deploy ($(ms "$t_all") ms)"
