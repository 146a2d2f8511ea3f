#!/usr/bin/env bash
# pod_proxy: an environment's proxy (docs/PROXY.md "Environment proxy") on a
# pod of 3 namespace hosts (scripts/pod up). Nothing is faked: sauron issues
# the app's certificate from the pod CA and seals its key to the proxy's
# hosts (host.proxy_certs), the striders run the env's 2 proxy jobs (Debian's
# HAProxy in runc, on the env's overlay) and pass each its ingress socket on
# the host's underlay address.
#
#   1. app web (3 HA replicas of busybox httpd, each answering its job id) and
#      `rv proxy:ensure`: 2 proxy replicas on distinct hosts
#   2. HTTPS to each proxy's ingress (HOSTADDR:PORT, PROXY protocol as the
#      edge sends it, checked against the pod CA): all 3 replicas answer; a
#      request ID comes back; TLS 1.1 is refused
#   3. an unknown Host gets 404
#   3b. WebSockets pass: an Upgrade through the edge gets the app's 101 and
#      bytes flow both ways (an app of busybox nc + ws_server.sh, ws_echo.py)
#   3c. HAProxy accepts on the host's ingress socket itself (fd 3): a
#      WebSocket straight at a proxy's ingress lives through a kill -9 and
#      restart of that host's strider; links the proxy's container plants in
#      its run dir meanwhile (certs/ to a host dir, ...) are not followed
#   4. a client loop runs while one replica's container is killed (runc kill
#      KILL): zero failed requests; the replica comes back and answers again
#   2b. the same name through the pod's edge (scripts/pod starts rv-edge)
#   4b. rv stop of a replica under a loop of POSTs: zero failed (drain)
#   6. kill -9 of one proxy replica under a sequential client loop through the
#      edge: zero failed requests. The client does what RFC 9110 9.2.2 allows
#      an HTTP client: a GET whose connection failed before its response was
#      read whole (curl 16, 18, 35, 52, 56, 92) is sent again once; the
#      retries are counted and shown (at most 1: the client is sequential)
#   7. limits from config:set (ROUTER_MAX_BODY, ROUTER_RATE_LIMIT): 413, 429
#   5. plaintext never crosses the underlay: a capture on the bridge while a
#      request carries a marker finds TLS only
#   pod_proxy_test.sh REPO_ROOT BUILD_DIR
set -u
. "$1/test/integration/proxy_pod.bash"
proxy_pod_start pod_proxy "$1" "$2" /tmp/rv-podpx runc docker-registry ip nsenter curl openssl haproxy tcpdump jq python3
tenant=acme env_name=p$$
env=$tenant/$env_name
name=web.$env_name.$tenant.rivendell.test
# Fallback refreshes of a minute: every change below reaches the proxies and
# the edge by sauron's proxy.changed / edge.changed notices alone. An agent
# grace of 10 s: 3c's strider restart is a restart, not a lost host.
RV_PROXY_REFRESH_MS=60000 RV_EDGE_POLL_MS=60000 RV_POD_AGENT_GRACE_MS=10000 proxy_pod_up

# 1. The app, its replicas, the env's proxies.
$rv apps:create "$env" web >/dev/null || fail "apps:create"
$rv submit --service web --replicas 3 --ha --image stack/busybox:latest --port 8080 --env "$env" --app web -- \
  /bin/sh -c 'mkdir -p /tmp/w && echo "$RV_JOB_ID" >/tmp/w/index.html && exec httpd -f -p 8080 -h /tmp/w' >/dev/null \
  || fail "submit web"
# App ws: 1 replica of busybox nc running test/integration/ws_server.sh per
# connection (an Upgrade answered 101, then an echo), for 3b.
$rv apps:create "$env" ws >/dev/null || fail "apps:create ws"
$rv submit --service ws --replicas 1 --image stack/busybox:latest --port 8080 --env "$env" --app ws -- \
  /bin/sh -c 'printf "%s\n" "$1" >/tmp/ws.sh && exec nc -ll -p 8080 -e /bin/sh /tmp/ws.sh' ws \
  "$(cat "$root/test/integration/ws_server.sh")" >/dev/null || fail "submit ws"
$rv proxy:ensure "$env" >"$dir/ensure.log" || fail "proxy:ensure"
pport=$(proxy_port_in <"$dir/ensure.log")
[ -n "$pport" ] || fail "proxy:ensure printed no port: $(cat "$dir/ensure.log")"
px1=$tenant.$env_name.proxy-1 px2=$tenant.$env_name.proxy-2
t0=$(date +%s%N)
wait_running 60 web-1 web-2 web-3 ws-1 "$px1" "$px2"
echo "app and proxies running in $(ms "$t0") ms"
[ "$(host_of "$px1")" != "$(host_of "$px2")" ] || fail "both proxy replicas on $(host_of "$px1")"
$rv proxy:ensure "$env" | grep -c exists | grep -qx 2 || fail "a second proxy:ensure did not find both"

# get HOST [CURL ARGS...]: one HTTPS request to NAME through HOST's proxy ingress.
get() {
  local h=$1
  shift
  ingress "$name" "$pport" "$h" --cacert "$ca" "$@"
}

# 2. All three replicas answer through each proxy.
for px in "$px1" "$px2"; do
  h=$(host_of "$px")
  seen=""
  t0=$(date +%s%N)
  for _ in $(seq 1 150); do
    b=$(get "$h" 2>/dev/null) && case " $seen " in *" $b "*) ;; *) seen="$seen $b" ;; esac
    [ "$(echo $seen | wc -w)" = 3 ] && break
    sleep 0.1
  done
  [ "$(echo $seen | tr ' ' '\n' | grep -c '^web-[123]$')" = 3 ] || fail "through $px on $h: answered by '$seen', want web-1..3"
  echo "through $px ($h:$pport): all 3 replicas answered within $(ms "$t0") ms"
done
h1=$(host_of "$px1")
# The same through the pod's edge (rv-edge: SNI in TCP mode, PROXY v2 to a proxy's ingress).
t0=$(date +%s%N)
b=""
for _ in $(seq 1 100); do
  b=$(edge "$name" -f 2>/dev/null) && break
  sleep 0.1
done
[[ "$b" =~ ^web-[123]$ ]] || fail "through the edge ($edge_addr:$eport): '$b'"
echo "through the edge: answered by $b within $(ms "$t0") ms"
get "$h1" -D "$dir/headers" -o /dev/null || fail "request with headers"
# The request ID (X-Request-ID to the app) is in the proxy's access log (rv logs JOB).
$rv logs "$px1" | grep -q ' id=[0-9A-F]*:[0-9A-F]*_.* "GET https://'"$name"':'"$pport"'/ ' \
  || fail "no access log line with a request id in rv logs $px1: $($rv logs "$px1" | tail -n 3)"
get "$h1" --http2 -o /dev/null -w '%{http_version}\n' | grep -qx 2 || fail "HTTP/2 not negotiated"
get "$h1" --tls-max 1.1 -o /dev/null 2>/dev/null && fail "TLS 1.1 was accepted"

# rv logs APP --router: the app's requests in both proxies' access logs, with ids.
$rv logs "$env/web" --router >"$dir/router.log" || fail "rv logs --router"
grep -q "^$px1 .* id=[0-9A-F]*:" "$dir/router.log" && grep -q "^$px2 " "$dir/router.log" \
  || fail "rv logs --router lacks a proxy's lines: $(head -n 3 "$dir/router.log")"
echo "rv logs $env/web --router: $(wc -l <"$dir/router.log") lines from both proxies"
# --router -f follows: a request made after it printed the tail shows up.
$rv logs "$env/web" --router -f >"$dir/follow.log" 2>&1 &
follow_pid=$!
for _ in $(seq 1 50); do [ -s "$dir/follow.log" ] && break; sleep 0.1; done
[ -s "$dir/follow.log" ] || fail "rv logs --router -f printed no tail: $(cat "$dir/follow.log")"
mark="/follow-$$-$RANDOM"
for _ in 1 2; do curl -sS --max-time 5 --haproxy-protocol --resolve "$name:$pport:$(hostaddr "$h1")" \
  --cacert "$dir/keys/pod-ca.crt" -o /dev/null "https://$name:$pport$mark"; done
for _ in $(seq 1 50); do grep -q -- "$mark" "$dir/follow.log" && break; sleep 0.1; done
kill "$follow_pid" 2>/dev/null
wait "$follow_pid" 2>/dev/null
follow_pid=""
grep -q -- "\"GET https://$name:$pport$mark " "$dir/follow.log" || fail "rv logs --router -f did not show $mark: $(tail -n 3 "$dir/follow.log")"

# 3. Unknown Host: 404.
code=$(get "$h1" -H "Host: nope.example.com" -o /dev/null -w '%{http_code}')
[ "$code" = 404 ] || fail "unknown Host got $code, want 404"

# 3b. WebSockets pass: an Upgrade through the edge and a proxy gets the app's
# 101, then bytes flow both ways on the same connection (tunnel mode).
wsname=ws.$env_name.$tenant.rivendell.test
out=""
for _ in $(seq 1 50); do
  out=$(python3 "$root/test/integration/ws_echo.py" "$edge_addr" "$eport" "$wsname" "$ca" 2>&1) && break
  sleep 0.2
done
[[ "$out" == "websocket upgrade: HTTP/1.1 101 "* ]] || fail "WebSocket through the edge: $out"
echo "$out (through the edge)"
out=$(python3 "$root/test/integration/ws_echo.py" "$(hostaddr "$h1")" "$pport" "$wsname" "$ca" --proxy-header 2>&1) \
  || fail "WebSocket at $h1's proxy ingress: $out"

# 3c. The proxy owns its ingress (socket activation: the host's listening
# socket is HAProxy's fd 3): a connection it serves lives through a kill -9
# and restart of its host's strider, which takes the socket back from the
# running HAProxy (pidfd_getfd) and leaves the accepting to it.
grep -q "^  bind fd@3 " "/run/rivendell/$(tag "$h1")/proxy/$(cid "$px1")/haproxy.cfg" \
  || fail "$px1's HAProxy does not accept on the host's ingress socket (no bind fd@3)"
hold=$dir/ws-hold
python3 "$root/test/integration/ws_echo.py" "$(hostaddr "$h1")" "$pport" "$wsname" "$ca" --proxy-header \
  "--hold=$hold" >"$dir/ws-hold.out" 2>&1 &
ws_pid=$!
for _ in $(seq 1 100); do grep -q holding "$dir/ws-hold.out" && break; sleep 0.1; done
grep -q holding "$dir/ws-hold.out" || fail "WebSocket to hold: $(cat "$dir/ws-hold.out")"
spid=$(cat "$dir/pids/strider-$h1.pid")
welcomes=$(grep -c "welcomed by sauron" "$dir/logs/strider-$h1.log" || true)
kill -KILL "$spid"
for _ in $(seq 1 100); do kill -0 "$spid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$spid" 2>/dev/null && fail "$h1's strider outlived kill -9 by 10 s"
b=$(get "$h1") || fail "$h1's proxy ingress did not answer while its strider was down"
# Meanwhile the proxy's container (it writes its run dir) plants links as an
# exploited HAProxy could: certs/ to a host dir, the fallback certificate gone
# and links at the names openssl once wrote it by. The restarted strider must
# not follow them (strider/proxy_run_dir.h).
pxdir=/run/rivendell/$(tag "$h1")/proxy/$(cid "$px1")
victim=$dir/host-victim
mkdir -p "$victim" && chmod 755 "$victim" && echo "host file" >"$victim/file"
mv "$pxdir/certs" "$pxdir/certs.old" && ln -s "$victim" "$pxdir/certs" || fail "plant a certs link in $pxdir"
rm -f "$pxdir/fallback.pem"
ln -s "$victim/file" "$pxdir/fallback.key.tmp" && ln -s "$victim/file" "$pxdir/fallback.crt.tmp" || fail "plant links"
"$root/scripts/pod" restart-host --dir "$dir" --host "$h1" --agent-only >/dev/null 2>&1 || fail "restart $h1's strider"
for _ in $(seq 1 300); do
  [ "$(grep -c "welcomed by sauron" "$dir/logs/strider-$h1.log" || true)" -gt "$welcomes" ] && break
  sleep 0.1
done
touch "$hold"
wait "$ws_pid" || fail "the WebSocket through $h1's proxy did not live through its strider's restart: $(cat "$dir/ws-hold.out")"
echo "$(tail -n1 "$dir/ws-hold.out") (the same connection, across a kill -9 and restart of $h1's strider)"
grep -q "running proxy has no ingress socket of ours" "$dir/logs/strider-$h1.log" \
  && fail "$h1's restarted strider did not take the ingress socket back from $px1"
wait_running 30 "$px1"
b=$(get "$h1") || fail "$h1's proxy ingress after its strider's restart"
for _ in $(seq 1 100); do ls "$pxdir"/certs/*.pem >/dev/null 2>&1 && break; sleep 0.1; done
[ "$(stat -c '%U %a' "$victim")" = "root 755" ] && [ "$(cat "$victim/file")" = "host file" ] \
  && [ "$(ls "$victim")" = file ] || fail "the strider followed a link the proxy planted: $(ls -la "$victim")"
[ -d "$pxdir/certs" ] && [ ! -L "$pxdir/certs" ] && [ "$(stat -c %u "$pxdir/certs")" = 10000 ] \
  || fail "$px1's certs/ was not made again as its own dir"
ls "$pxdir"/certs/*.pem >/dev/null 2>&1 || fail "$px1's certificates were not written again into certs/"
[ -f "$pxdir/fallback.pem" ] && [ ! -L "$pxdir/fallback.pem" ] || fail "$px1's fallback certificate was not made again"
echo "links planted in $px1's run dir (certs/ to a host dir, the fallback's old names to a host file): none followed"

# 4. kill -9 one replica's container under a client loop.
loop() {
  local ok=0 bad=0 end=$(($(date +%s) + $1))
  while [ "$(date +%s)" -lt "$end" ]; do
    if get "$h1" -f -o /dev/null 2>>"$dir/loop.err"; then ok=$((ok + 1)); else bad=$((bad + 1)); fi
  done
  echo "$ok $bad" >"$dir/loop.out"
}
: >"$dir/loop.err"
loop 8 &
loop_pid=$!
sleep 2
victim=web-2
vh=$(host_of "$victim")
/usr/sbin/runc --root "/run/rivendell/$(tag "$vh")/runc" kill "$(cid "$victim")" KILL || fail "runc kill $victim"
echo "killed $victim on $vh"
wait "$loop_pid"
loop_pid=""
read -r ok bad <"$dir/loop.out"
echo "client loop during kill -9: $ok ok, $bad failed"
[ "$ok" -ge 5 ] || fail "only $ok requests in the loop"
[ "$bad" = 0 ] || fail "$bad failed requests: $(sort "$dir/loop.err" | uniq -c | head -5)"
wait_running 30 "$victim"
t0=$(date +%s%N)
seen=""
for _ in $(seq 1 100); do
  b=$(get "$h1" 2>/dev/null) && [ "$b" = "$victim" ] && { seen=1; break; }
  sleep 0.1
done
[ -n "$seen" ] || fail "$victim did not answer through the proxy after its restart"
echo "$victim answers again through the proxy $(ms "$t0") ms after rv ps showed it running"
# Back at its address within the 2 s its removal's reload waits, it comes
# back through the runtime API (strider/proxy_reload.h); later, by a reload.
# Either is right, so this is shown, not checked.
back=$(grep -h "back in rotation by the runtime API" "$dir"/logs/strider-*.log | grep -c "r_${victim}_")
echo "$victim back in rotation through the runtime API in $back of 2 proxies (the others by a reload)"

# 4b. rv stop of a replica under a loop of POSTs (never retried by the proxy
# once sent): its host drains it (strider --drain-ms) while the proxies drop
# it. busybox httpd answers a POST 501: any other status is the proxy's.
ploop() {
  local ok=0 bad=0 code end=$(($(date +%s) + $1))
  while [ "$(date +%s)" -lt "$end" ]; do
    code=$(get "$h1" -o /dev/null -w '%{http_code}' --data "x=1" 2>>"$dir/ploop.err")
    if [ "$code" = 501 ]; then ok=$((ok + 1)); else bad=$((bad + 1)); echo "status $code" >>"$dir/ploop.err"; fi
  done
  echo "$ok $bad" >"$dir/ploop.out"
}
: >"$dir/ploop.err"
ploop 6 &
loop_pid=$!
sleep 2
$rv stop web-3 >/dev/null || fail "rv stop web-3"
wait "$loop_pid"
loop_pid=""
read -r ok bad <"$dir/ploop.out"
echo "POST loop during rv stop of a replica: $ok answered by the app, $bad failed"
# The loops count failures; the minimum only proves a loop ran across the
# event: CI runs this beside another pod, where one curl (a process and a
# TLS handshake) took ~300 ms (18 POSTs in 6 s; ~290 on a quiet machine).
[ "$ok" -ge 5 ] || fail "only $ok requests in the POST loop"
[ "$bad" = 0 ] || fail "$bad failed POSTs: $(sort "$dir/ploop.err" | uniq -c | head -5)"
for _ in $(seq 1 20); do b=$(get "$h1") && [ "$b" != web-3 ] || fail "web-3 still answers after its stop"; done
# The proxies took it out of rotation through HAProxy's runtime API before
# the reload that dropped it (strider/proxy_runtime.h).
grep -h "out of rotation ahead of the reload" "$dir"/logs/strider-*.log | grep -q "r_web-3_" \
  || fail "no proxy took web-3 out of rotation at its stop (strider logs)"

# 6. kill -9 one of the two proxy replicas under a client loop through the edge.
eget() { edge "$name" -f -o /dev/null 2>>"$dir/eloop.err"; }
eloop() {
  local ok=0 bad=0 retried=0 rc end=$(($(date +%s) + $1))
  while [ "$(date +%s)" -lt "$end" ]; do
    eget
    rc=$?
    # The connection failed under it (the killed HAProxy held this request's
    # TLS session): an idempotent request, sent again once. 55 is curl
    # finding its new connection already reset (getpeername: ENOTCONN), seen
    # once in a CI run: the request was never sent.
    case "$rc" in 16 | 18 | 35 | 52 | 55 | 56 | 92) retried=$((retried + 1)); eget; rc=$? ;; esac
    if [ "$rc" = 0 ]; then ok=$((ok + 1)); else bad=$((bad + 1)); fi
  done
  echo "$ok $bad $retried" >"$dir/eloop.out"
}
: >"$dir/eloop.err"
eloop 8 &
loop_pid=$!
sleep 2
ph=$(host_of "$px2")
/usr/sbin/runc --root "/run/rivendell/$(tag "$ph")/runc" kill "$(cid "$px2")" KILL || fail "runc kill $px2"
echo "killed $px2 on $ph"
wait "$loop_pid"
loop_pid=""
read -r ok bad retried <"$dir/eloop.out"
echo "client loop through the edge during a proxy's kill -9: $ok ok, $bad failed, $retried sent again after the connection failed under them"
[ "$ok" -ge 5 ] || fail "only $ok requests in the edge loop"
# What queued in the killed proxy's ingress backlog is taken by the relay to
# the other proxy; new connections go there at once; only the request whose
# connection the killed HAProxy held may need the client's retry.
[ "$bad" = 0 ] || fail "$bad failed requests through the edge: $(sort "$dir/eloop.err" | uniq -c | head -5)"
[ "$retried" -le 1 ] || fail "$retried requests lost their connection (a sequential client has at most 1 in flight): $(sort "$dir/eloop.err" | uniq -c | head -5)"
wait_running 30 "$px2"

# 5. Plaintext never crosses the underlay: a marker in a request is not on the bridge.
marker="rvmarker$$x$RANDOM"
bridge=rvp${netkey}b
ip link show "$bridge" >/dev/null 2>&1 || fail "no bridge $bridge"
timeout 20 tcpdump -i "$bridge" -w "$dir/cap.pcap" -U -s 0 "tcp port $pport or udp" >/dev/null 2>&1 &
cap_pid=$!
sleep 1
for i in 1 2 3; do
  get "$h1" -f -H "X-Marker: $marker" -o /dev/null || fail "marker request"
  # The body too; busybox answers a POST 501 and may close before reading it,
  # which HAProxy can pass on as a reset (curl 92/56): only the bytes matter here.
  get "$h1" -H "X-Marker: $marker" -o /dev/null --data "body=$marker" 2>/dev/null
done
sleep 0.5
kill "$cap_pid" 2>/dev/null
wait "$cap_pid" 2>/dev/null
cap_pid=""
[ -s "$dir/cap.pcap" ] || fail "the capture is empty"
pkts=$(tcpdump -r "$dir/cap.pcap" 2>/dev/null | wc -l)
[ "$pkts" -gt 10 ] || fail "the capture holds only $pkts packets"
grep -a -q "$marker" "$dir/cap.pcap" && fail "the marker crossed the underlay in plaintext"
echo "underlay capture: $pkts packets, no plaintext marker"
# 7. Limits from the environment's config: body over ROUTER_MAX_BODY -> 413,
# over ROUTER_RATE_LIMIT requests/s (10 s window) per client -> 429.
$rv config:set "$env" ROUTER_MAX_BODY=1000 ROUTER_RATE_LIMIT=5 >"$dir/config.log" 2>&1 || fail "config:set limits: $(cat "$dir/config.log")"
head -c 2000 /dev/zero | tr '\0' x >"$dir/body"
body_gets() {  # body_gets CODE: the 2000-byte body to h1's proxy until it gets CODE (5 s)
  code=""
  for _ in $(seq 1 50); do
    code=$(get "$h1" -o /dev/null -w '%{http_code}' --data-binary @"$dir/body" 2>/dev/null)
    [ "$code" = "$1" ] && return 0
    sleep 0.1
  done
  return 1
}
# limits_by_runtime N: each proxy's host logs N limit changes (5 s), each
# taken whole by the runtime API (the limits are map entries: no reload).
limits_by_runtime() {
  local h lines
  for h in $(printf '%s\n' "$(host_of "$px1")" "$(host_of "$px2")" | sort -u); do
    for _ in $(seq 1 50); do
      lines=$(grep -h "limits set by the runtime API" "$dir/logs/strider-$h.log")
      [ "$(grep -c . <<<"$lines")" -ge "$1" ] && break
      sleep 0.1
    done
    [ "$(grep -c "(\([1-9][0-9]*\) of \1 commands taken" <<<"$lines")" -ge "$1" ] \
      || fail "the limits did not go to $h's proxy by the runtime API ($1 wanted): ${lines:-no such line}; $(grep -h "after sauron's notice" "$dir/logs/strider-$h.log" | tail -n 2)"
  done
}
t0=$(date +%s%N)
body_gets 413 || fail "a 2000-byte body got $code, want 413"
echo "body limit applied within $(ms "$t0") ms of config:set: 413"
# A body without a length is counted as it comes: chunked (HTTP/1.1) and
# HTTP/2 without Content-Length; a small chunked one passes to the app.
# busybox httpd answers a POST 501 on its headers, without reading the body,
# and HAProxy passes an answer on as it comes: now and then that 501 beats
# the filter's 413 (the app still got no more than the limit). So: a 413
# within 5 tries, and nothing but the app's 501 before it. The filter's own
# test, with an app that reads every body, wants 413 every time
# (ProxyBodyLimit.HaproxyRefuses...).
over_limit() {  # over_limit WHAT CURL-ARGS...: 413 within 5 tries
  local what=$1 code tries=""
  shift
  for _ in 1 2 3 4 5; do
    code=$(get "$h1" "$@" -o /dev/null -w '%{http_code}' --data-binary @"$dir/body")
    tries="$tries $code"
    [ "$code" = 413 ] && { [ "$tries" = " 413" ] || echo "$what: got$tries"; return 0; }
    [ "$code" = 501 ] || fail "$what got $code, want 413 (tries:$tries)"
  done
  fail "$what got$tries, want 413"
}
over_limit "a 2000-byte chunked body" --http1.1 -H 'Transfer-Encoding: chunked'
over_limit "a 2000-byte HTTP/2 body without a length" --http2 -H 'Content-Length:'
code=$(get "$h1" --http1.1 -H 'Transfer-Encoding: chunked' -o /dev/null -w '%{http_code}' --data "x=1")
[ "$code" = 501 ] || fail "a small chunked POST got $code (want the app's 501)"
small=$(get "$h1" -o /dev/null -w '%{http_code}' --data "x=1")
[ "$small" = 501 ] || fail "a small POST got $small (want the app's 501)"
# 45 bodyless HTTP/1.1 GETs (the app's first backend), then 25 over HTTP/2
# (its body-limited backend, through the filter), all at h1's proxy: one
# count per client for both, so the HTTP/2 ones pass the 50 per 10 s. Counted
# apart, the HTTP/2 backend would see 25 and the few bodies above: far under.
# Five at a time: one by one, a loaded machine (CI's) once took over 14 s for
# the 70, which keeps any 10 s window under 50 and nothing is refused.
n200=0 n429=0 h2_429=0
t0=$(date +%s%N)
for batch in $(seq 0 13); do
  pids=""
  for k in 1 2 3 4 5; do
    i=$((batch * 5 + k))
    proto=--http1.1
    [ "$i" -gt 45 ] && proto=--http2
    get "$h1" "$proto" -o /dev/null -w "%{http_code} $proto\n" >"$dir/rate.$i" 2>/dev/null &
    pids="$pids $!"
  done
  wait $pids  # these only: `rv logs -f` above runs on
done
for i in $(seq 1 70); do
  read -r code proto <"$dir/rate.$i"
  case "$code" in
    200) n200=$((n200 + 1)) ;;
    429) n429=$((n429 + 1)); [ "$proto" = --http2 ] && h2_429=$((h2_429 + 1)) ;;
  esac
done
echo "70 requests at ROUTER_RATE_LIMIT=5 in $(ms "$t0") ms: $n200 ok, $n429 got 429 ($h2_429 of them over HTTP/2)"
[ "$n429" -gt 0 ] && [ "$n200" -gt 0 ] || fail "rate limit: $n200 ok, $n429 429s"
[ "$h2_429" -gt 0 ] || fail "the body-limited backend did not count the client's HTTP/1.1 requests: no 429 over HTTP/2"
# rv logs --router shows the app's requests of both its backends.
$rv logs "$env/web" --router >"$dir/router2.log" || fail "rv logs --router"
grep -q "_body/" "$dir/router2.log" \
  || fail "rv logs --router lacks the body-limited backend's lines: $(tail -n 3 "$dir/router2.log")"
limits_by_runtime 1
$rv config:unset "$env" ROUTER_MAX_BODY ROUTER_RATE_LIMIT >"$dir/config.log" 2>&1 || fail "config:unset limits: $(cat "$dir/config.log")"
t0=$(date +%s%N)
body_gets 501 || fail "after config:unset a 2000-byte body got $code, want the app's 501"
limits_by_runtime 2
code=$(get "$h1" --http2 -o /dev/null -w '%{http_code}')
[ "$code" = 200 ] || fail "after config:unset a GET from the limited client got $code, want 200"
echo "limits gone within $(ms "$t0") ms of config:unset: the body reaches the app, the client is not refused"
# 8. Every change above went live by notice (fallback 60 s): sauron's event ->
# new configuration live in a proxy, as the striders measured it.
lat=$(grep -h -o "live [0-9]* ms after sauron's notice arrived ([0-9-]* ms after sauron sent it)" "$dir"/logs/strider-h*.log \
  | sed 's/.*(\([0-9-]*\) ms after sauron sent it)/\1/' | sort -n)
n=$(wc -w <<<"$lat")
[ "$n" -ge 3 ] || fail "only $n proxy updates by notice in the strider logs"
echo "proxy updates by notice: $n, sauron's event -> live: min $(head -n 1 <<<"$lat") ms, max $(tail -n 1 <<<"$lat") ms"
# The goal is 1 s (bench/run ingress measures it on a quiet machine, and the
# figures here are printed); CI runs this beside other pods on 2 cores, so
# the test fails only past 2.5 s.
[ "$(tail -n 1 <<<"$lat")" -le 2500 ] || fail "a proxy took over 2.5 s to apply a change: $(tr '\n' ' ' <<<"$lat"); $(grep -h "after sauron's notice" "$dir"/logs/strider-h*.log)"
# 9. The edge checks each proxy every second without a line in the tenant's
# access log (a bare connect; a PROXY header then a reset was logged as a
# failed TLS handshake, ~40 per proxy over this test). A few come from the
# test's own refused TLS 1.1 and the kill.
for px in "$px1" "$px2"; do
  log="$dir/hosts/$(host_of "$px")/container/containers/$(cid "$px")/console.log"
  hs=$(grep -c "SSL handshake failure" "$log" || true)
  echo "$px: $hs failed TLS handshakes in its access log"
  [ "$hs" -le 8 ] || fail "$px logged $hs failed TLS handshakes (the edge's health checks?): $(grep "SSL handshake failure" "$log" | tail -n 3)"
done
echo "PASS: pod_proxy"
