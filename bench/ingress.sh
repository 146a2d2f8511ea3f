#!/usr/bin/env bash
# Ingress benchmark (issue 18). Needs root, runc, docker-registry, haproxy,
# nginx (nginx-light), wrk, curl, unshare, python3.
#
#   bench/run ingress [--rounds N] [--quick] [--app python|busybox]
#   (--quick or RV_BENCH_QUICK=1: ~1 min of load; RV_BENCH_APP=busybox as --app)
#
# A 3-host namespace pod (scripts/pod up), app web = 3 HA replicas of a small
# app that answers GET / with its job id: by default a keep-alive HTTP/1.1
# server from Python's standard library (as app servers keep connections);
# --app busybox: busybox httpd, a process per connection that closes each one
# (every proxied request a new TCP connection over the overlay). Then the
# environment's proxies (rv proxy:ensure),
# the pod's edge. The same app, measured with wrk (keep-alive, GET /) in one run,
# interleaved round by round so the shared machine's drift lands on every path:
#   direct  plain HTTP to web-1's overlay address, wrk inside web-1's host netns
#   proxied HTTPS to the app's name through the edge (SNI, TCP), the env
#           proxy (HAProxy, TLS ends, on the host's ingress socket) and the overlay (3 replicas);
#           wrk in the root netns, the name mapped to the edge by an /etc/hosts
#           bind-mounted in a private mount namespace (unshare -m): wrk's URL
#           host is its SNI, which the edge routes by
#   nginx   HTTPS to the same name at a plain nginx reverse proxy in web-1's host
#           netns (TLS with a pod-CA certificate, proxy_pass to web-1's overlay
#           address): what a user would set up by hand, the peer for "proxied"
# each at full load (wrk -t2 -c16) and at a fixed moderate rate (wrk -t1 -c4,
# each connection waiting 5 ms between requests: ~700 req/s offered, far below
# every path's capacity). Then, with a wrk load (-t1 -c8) and a sequential curl
# loop through the edge: runc kill KILL of a replica (KILLS times), a new
# replica (webx-1, submitted for the app: the proxies add it) and an `rv
# stop` of one: failed requests (HTTP >= 400, socket errors, curl failures),
# and how long the proxies took to use a replica (again, or new; their access
# logs, every request of the load and the loop) after its
# strider saw it healthy (its log line) and to stop using one after `rv stop`.
# Writes bench/results/ingress.json; docs/PERFORMANCE.md "Ingress".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${RV_BUILD:-$root/build-bench}
rounds=${ROUNDS:-3} dur=10 mdur=8 kills=3
quick=${RV_BENCH_QUICK:-0}
app=${RV_BENCH_APP:-python}
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    --app) app=$2; shift 2 ;;
    *) echo "ingress: unknown argument '$1' (--rounds N, --quick, --app python|busybox)" >&2; exit 2 ;;
  esac
done
case "$app" in python|busybox) ;; *) echo "ingress: --app must be python or busybox" >&2; exit 2 ;; esac
[ "$quick" = 1 ] && rounds=1 dur=4 mdur=4 kills=1
case "$rounds" in ''|*[!0-9]*|0) echo "ingress: --rounds must be a positive number" >&2; exit 2 ;; esac
[ "$(id -u)" = 0 ] || { echo "ingress: needs root" >&2; exit 1; }
for b in cli/rv strider/strider sauron/sauron overlay/overlayd common/oci/rv-image edge/rv-edge; do
  [ -x "$build/$b" ] || { echo "ingress: build $b in $build first" >&2; exit 1; }
done
for t in wrk curl unshare nsenter python3 /usr/sbin/nginx /usr/sbin/haproxy /usr/sbin/runc; do
  command -v "$t" >/dev/null || { echo "ingress: needs $t (scripts/install-deps)" >&2; exit 1; }
done
. "$root/test/integration/test_ports.bash"
reserve_test_ports || exit 1
dir=$(mktemp -d /tmp/rv-bench-ingress.XXXXXX)
chmod 755 "$dir"
export RV_BUILD=$build
pod="$root/scripts/pod"
rv="$build/cli/rv --pod $dir/pod.json"
started=$(date +%s)
loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)
tenant=bench env_name=i$$
env=$tenant/$env_name
eport=$((port + 25)) nport=$((port + 26))
say() { echo "ingress: $*" >&2; }
die() { echo "ingress: $*" >&2; exit 1; }
cleanup() {
  local p
  for p in ${loop_pid:-} ${load_pid:-} ${router_pids:-}; do kill "$p" 2>/dev/null; done
  if [ -n "${nginx_pid:-}" ]; then
    kill -QUIT "$nginx_pid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$nginx_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$nginx_pid" 2>/dev/null
  fi
  [ -n "${RV_BENCH_KEEP:-}" ] && mkdir -p "$RV_BENCH_KEEP" && cp -r "$dir/logs" "$dir/wrk" "$dir/loop.txt" "$dir/events.txt" "$dir"/router-*.txt "$RV_BENCH_KEEP/" 2>/dev/null
  "$pod" down --dir "$dir" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---- the pod, the app, its proxies ----
t=$(date +%s.%N)
RV_POD_STACKS=busybox,$app RV_POD_HTTP_PORT=$((port + 24)) RV_POD_HTTPS_PORT=$eport \
  "$pod" up --hosts 3 --dir "$dir" --base-port "$port" >"$dir/up.log" 2>&1 || { tail -n 20 "$dir/up.log" >&2; die "pod up failed"; }
subnet=$(awk -F= '$1 == "subnet" {print $2}' "$dir/net.env")
[ -n "$subnet" ] || die "no subnet in $dir/net.env"
edge=$subnet.1
hostaddr() { echo "$subnet.$((10 + ${1#h}))"; }
host_of() { $rv ps | awk -v id="$1" '$1 == id {print $4}'; }
running() {
  local j
  for j in "$@"; do [ "$($rv ps | awk -v id="$j" '$1 == id {print $5}')" = running ] || return 1; done
}
wait_running() {  # wait_running SECONDS JOB...
  local t=$1
  shift
  for _ in $(seq 1 $((t * 5))); do running "$@" && return 0; sleep 0.2; done
  # Say which and why: the jobs' states and their hosts' last words.
  $rv ps >&2 || true
  tail -n 5 "$dir"/logs/strider-h*.log >&2 2>/dev/null || true
  die "not all running within $t s: $*"
}
$rv apps:create "$env" web >/dev/null || die "apps:create"
if [ "$app" = busybox ]; then
  # busybox httpd: a process per connection, and it closes each one.
  app_cmd=(/bin/sh -c 'mkdir -p /tmp/w && echo "$RV_JOB_ID" >/tmp/w/index.html && exec httpd -f -p 8080 -h /tmp/w')
else
  # The smallest keep-alive app server: Python's standard library, HTTP/1.1,
  # a thread per connection, the answer in one write (as gunicorn, node or puma keep connections).
  app_cmd=(python3 -c '
import http.server, os
body = (os.environ["RV_JOB_ID"] + "\n").encode()
answer = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
class App(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        self.wfile.write(answer)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("", 8080), App).serve_forever()')
fi
$rv submit --service web --replicas 3 --ha --image "stack/$app:latest" --port 8080 --env "$env" --app web -- \
  "${app_cmd[@]}" >/dev/null || die "submit web"
$rv proxy:ensure "$env" >"$dir/ensure.log" || die "proxy:ensure"
# Cold pulls on a brand-new machine (every host fetches the stack) can take a while.
wait_running 180 web-1 web-2 web-3 "$tenant.$env_name.proxy-1" "$tenant.$env_name.proxy-2"
pod_up_s=$(python3 -c "print(round($(date +%s.%N) - $t, 1))")
# The app's name as sauron has it (its default name).
name=$($rv domains "$env/web" | awk '$1 ~ /^web\./ {print $1; exit}')
[ "$name" = "web.$env_name.$tenant.rivendell.test" ] || die "rv domains gave '$name'"
ca=$dir/keys/pod-ca.crt
body=""
for _ in $(seq 1 100); do
  body=$(curl -sS -f --max-time 5 --resolve "$name:$eport:$edge" --cacert "$ca" "https://$name:$eport/" 2>/dev/null) && break
  sleep 0.1
done
[[ "$body" =~ ^web-[123]$ ]] || die "no answer through the edge, checked against the pod CA: '$body'"
# web-1: its host and its overlay address (from inside its container).
h=$(host_of web-1)
# (/proc/net/fib_trie: the python stack has no ip(8).)
addr=$("$pod" exec --dir "$dir" --job web-1 -- cat /proc/net/fib_trie 2>/dev/null </dev/null |
  awk '/\|--/ {ip = $2} /\/32 host LOCAL/ && ip !~ /^127\./ {print ip; exit}')
[ -n "$addr" ] || die "no overlay address of web-1"
hexec() { "$pod" exec --dir "$dir" --host "$h" -- "$@"; }
# With --app busybox, (a)'s wrk and (c)'s nginx open a new connection to web-1
# per request (busybox closes each) from this netns: ~14k TIME_WAITs to one address after a 10 s
# run, and without reuse the next runs' connects crawl through the 28k-port
# range (measured: 5,456 -> 1,482 -> 781 req/s in three runs; with reuse
# 5,222 / 5,340 / 5,427). What any load generator sets; the proxies' netns
# need it not (their upstream connections end on the server's side).
hexec sysctl -q -w net.ipv4.tcp_tw_reuse=1 || die "sysctl tcp_tw_reuse in $h's netns"
b=$(hexec curl -sS -f --max-time 5 "http://$addr:8080/" 2>&1) && [ "$b" = web-1 ] || die "web-1 at $addr:8080 from $h: '$b'"

# ---- the nginx peer on web-1's host ----
mkdir -p "$dir/nginx" "$dir/wrk"
"$root/scripts/pod-ca" issue --dir "$dir/keys" --out "$dir/nginx/cert" --name "$name" >/dev/null || die "pod-ca issue"
cat >"$dir/nginx/nginx.conf" <<EOF
# A plain TLS reverse proxy, as a user would write it by hand.
worker_processes auto;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log;
daemon off;
events { worker_connections 1024; }
http {
  access_log $dir/nginx/access.log;
  client_body_temp_path $dir/nginx/body;
  proxy_temp_path $dir/nginx/proxy;
  upstream app {
    server $addr:8080;
    keepalive 16;  # connections to the app kept, when it keeps them
  }
  server {
    listen $(hostaddr "$h"):$nport ssl;
    server_name $name;
    ssl_certificate $dir/nginx/cert.crt;
    ssl_certificate_key $dir/nginx/cert.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto https;
    }
  }
}
EOF
"$pod" exec --dir "$dir" --host "$h" -- /usr/sbin/nginx -c "$dir/nginx/nginx.conf" -e "$dir/nginx/error.log" \
  </dev/null >"$dir/nginx/stdout" 2>&1 &
nginx_pid=$!  # scripts/pod exec execs nsenter, which execs nginx: this is nginx's master
b=""
for _ in $(seq 1 50); do
  b=$(curl -sS -f --max-time 5 --resolve "$name:$nport:$(hostaddr "$h")" --cacert "$ca" "https://$name:$nport/" 2>/dev/null) && break
  sleep 0.1
done
[ "$b" = web-1 ] || die "nginx on $h: '$b' ($(tail -n 3 "$dir/nginx/error.log" 2>/dev/null))"

# ---- wrk ----
# wrk's Lua: one RESULT line (requests, seconds, socket errors, HTTP >= 400,
# latency p50/p99/mean in µs); "pace" adds a 5 ms wait before each request.
cat >"$dir/report.lua" <<'EOF'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %.3f %d %d %d %d %d %.1f %.1f %.1f\n", summary.requests,
    summary.duration / 1e6, e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
EOF
{ cat "$dir/report.lua"; echo 'delay = function() return 5 end'; } >"$dir/pace.lua"
echo "$edge $name" >"$dir/hosts.edge"
echo "$(hostaddr "$h") $name" >"$dir/hosts.nginx"
# wrk_run KIND LOAD OUT: one wrk run of KIND (direct|proxied|nginx) at LOAD (full|moderate|event).
wrk_run() {
  local kind=$1 load=$2 out=$3 args
  case "$load" in
    full) args=(-t2 -c16 -d"${dur}s" -s "$dir/report.lua") ;;
    moderate) args=(-t1 -c4 -d"${mdur}s" -s "$dir/pace.lua") ;;
    event) args=(-t1 -c8 -d"${4}s" -s "$dir/report.lua") ;;
  esac
  # CPU per kind of process over the first round's full-load runs (where the cores go).
  [ "$load" = full ] && [ ! -e "$dir/cpu-$kind.json" ] && python3 "$here/lib/cpu_by_process.py" snap "$dir/cpu-$kind.a"
  case "$kind" in
    direct) hexec wrk "${args[@]}" "http://$addr:8080/" ;;
    proxied) unshare -m sh -c 'mount --bind "$0" /etc/hosts && exec wrk "$@"' "$dir/hosts.edge" "${args[@]}" "https://$name:$eport/" ;;
    nginx) unshare -m sh -c 'mount --bind "$0" /etc/hosts && exec wrk "$@"' "$dir/hosts.nginx" "${args[@]}" "https://$name:$nport/" ;;
  esac </dev/null >"$out" 2>&1
  grep -q '^RESULT ' "$out" || { cat "$out" >&2; die "wrk $kind $load gave no result"; }
  if [ -e "$dir/cpu-$kind.a" ] && [ ! -e "$dir/cpu-$kind.json" ]; then
    python3 "$here/lib/cpu_by_process.py" snap "$dir/cpu-$kind.b"
    python3 "$here/lib/cpu_by_process.py" diff "$dir/cpu-$kind.a" "$dir/cpu-$kind.b" "$(awk '/^RESULT/ {print $3}' "$out")" \
      >"$dir/cpu-$kind.json"
  fi
}
# RV_BENCH_HOLD=FILE: write how to reach the three paths into FILE and wait
# until it is removed (to profile a path by hand), then go on as usual; the
# results then stay in the run's dir, not bench/results.
if [ -n "${RV_BENCH_HOLD:-}" ]; then
  { echo "dir=$dir host=$h addr=$addr name=$name edge=$edge eport=$eport nport=$nport"
    echo "direct:  $pod exec --dir $dir --host $h -- wrk -t2 -c16 -d10s http://$addr:8080/"
    echo "proxied: unshare -m sh -c 'mount --bind $dir/hosts.edge /etc/hosts && exec wrk -t2 -c16 -d10s https://$name:$eport/'"
    echo "nginx:   unshare -m sh -c 'mount --bind $dir/hosts.nginx /etc/hosts && exec wrk -t2 -c16 -d10s https://$name:$nport/'"
  } >"$RV_BENCH_HOLD"
  say "holding: see $RV_BENCH_HOLD; remove it to go on"
  while [ -e "$RV_BENCH_HOLD" ]; do sleep 1; done
fi
say "pod up in ${pod_up_s} s; web-1 at $addr on $h; $rounds round(s) of ${dur} s full load and ${mdur} s moderate"
for r in $(seq 1 "$rounds"); do
  for load in full moderate; do
    for kind in direct proxied nginx; do
      wrk_run "$kind" "$load" "$dir/wrk/$kind-$load-$r.out"
      printf '  round %d %-8s %-8s %s\n' "$r" "$load" "$kind" "$(grep '^RESULT' "$dir/wrk/$kind-$load-$r.out")" >&2
    done
  done
done

# ---- config apply and failed requests: a replica killed, one stopped, under load ----
# cloop: sequential HTTPS requests through the edge, one line each: "EPOCH BODY CODE".
cloop() {
  local out
  while :; do
    out=$(curl -sS --max-time 5 --resolve "$name:$eport:$edge" --cacert "$ca" -w ' %{http_code}' "https://$name:$eport/" 2>/dev/null)
    out=${out//$'\n'/}  # the body (the job id) ends in a newline
    printf '%s %s\n' "$EPOCHREALTIME" "${out:-x 000}"
  done
}
tag() { echo "$1-$(printf %s "$dir/hosts/$1" | sha256sum | cut -c1-8)"; }
cid() {
  local clean
  clean=$(printf %s "$1" | head -c 40 | LC_ALL=C tr 'A-Z' 'a-z' | LC_ALL=C tr -c 'a-z0-9._-' '_')
  echo "rv-$clean-$(printf %s "$1" | sha256sum | cut -c1-8)"
}
ev_s=$((kills * 9 + 18))
ev_t0=$EPOCHREALTIME
# The env proxies' access logs as they are written: a container keeps 4 MiB
# of its output, which the load fills in seconds (tail -F follows rotations).
router_pids="" i=0
for f in "$dir"/hosts/h*/container/containers/rv-*proxy*/console.log; do
  tail -F -n0 "$f" >"$dir/router-$i.txt" 2>/dev/null &
  router_pids="$router_pids $!" i=$((i + 1))
done
cloop >"$dir/loop.txt" 2>/dev/null &
loop_pid=$!
wrk_run proxied event "$dir/wrk/event.out" "$ev_s" &
load_pid=$!
sleep 2
: >"$dir/events.txt"
for k in $(seq 1 "$kills"); do
  victim=web-$((k % 3 + 1))  # web-2, web-3, web-1, ...
  vh=$(host_of "$victim")
  echo "kill $victim $EPOCHREALTIME $vh" >>"$dir/events.txt"
  /usr/sbin/runc --root "/run/rivendell/$(tag "$vh")/runc" kill "$(cid "$victim")" KILL || die "runc kill $victim"
  sleep 1
  wait_running 30 "$victim"
  # Until the loop got an answer from it again (at most 10 s).
  for _ in $(seq 1 100); do
    tail -n 50 "$dir/loop.txt" | awk -v v="$victim" '$2 == v {f = 1} END {exit !f}' && break
    sleep 0.1
  done
  sleep 1
done
# A new replica of the app: a server the proxies never had (runtime API `add server`).
echo "add webx-1 $EPOCHREALTIME -" >>"$dir/events.txt"
$rv submit --service webx --replicas 1 --image "stack/$app:latest" --port 8080 --env "$env" --app web -- \
  "${app_cmd[@]}" >/dev/null || die "submit webx"
wait_running 30 webx-1
for _ in $(seq 1 100); do
  tail -n 50 "$dir/loop.txt" | awk '$2 == "webx-1" {f = 1} END {exit !f}' && break
  sleep 0.1
done
sleep 1
victim=web-3
echo "stop $victim $EPOCHREALTIME $(host_of "$victim")" >>"$dir/events.txt"
$rv stop "$victim" >/dev/null || die "rv stop $victim"
sleep 3
kill "$loop_pid" $router_pids 2>/dev/null
wait "$loop_pid" $router_pids 2>/dev/null
router_pids=""
loop_pid=""
wait "$load_pid" 2>/dev/null
load_pid=""
grep -q '^RESULT ' "$dir/wrk/event.out" || { cat "$dir/wrk/event.out" >&2; die "the wrk under the kills gave no result"; }
echo "  event wrk (requests s connect read write timeout status ...): $(grep '^RESULT ' "$dir/wrk/event.out")" >&2
# What the env proxies logged of requests that did not end normally (HAProxy's
# termination state, first letter not '-': C client, S server, s server
# timeout, P/R/I/D/L/K ...): the reason of any failed request above.
python3 - "$ev_t0" "$dir"/router-*.txt >"$dir/abnormal.txt" <<'PY' || true
import re, sys, datetime
t0 = float(sys.argv[1])
pat = re.compile(r"\[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d\.\d{3})\] .* ([A-Za-z][A-Za-z-]{3}) \d+/\d+/\d+/\d+/\d+ ")
for f in sys.argv[2:]:
    for line in open(f, errors="replace"):
        m = pat.search(line)
        if not m or "SSL handshake" in line:
            continue
        t = datetime.datetime.strptime(m.group(1), "%d/%b/%Y:%H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc).timestamp()
        if t >= t0:
            sys.stdout.write(line)
PY
echo "  env proxies' log lines of requests that did not end normally: $(wc -l <"$dir/abnormal.txt")" >&2
head -n 5 "$dir/abnormal.txt" | sed 's/^/    /' >&2
loadavg=$(cut -d' ' -f1-3 /proc/loadavg)

# A held run (RV_BENCH_HOLD) was changed by hand: its figures are printed, not
# written over the last real run's.
results=$here/results/ingress.json
[ -n "${RV_BENCH_HOLD:-}" ] && results=$dir/ingress.json && say "a held run: results not written to bench/results"
python3 - "$dir" "$results" "$rounds" "$dur" "$mdur" "$kills" "$(($(date +%s) - started))" \
  "$loadavg_start" "$loadavg" "$pod_up_s" "$app" <<'PY'
import datetime, glob, json, re, statistics, sys, time
d, out, rounds, dur, mdur, kills, bench_s, la0, la1, pod_up_s, app = sys.argv[1:]
app_what = {"python": "Python http.server, HTTP/1.1 keep-alive, a thread per connection",
            "busybox": "busybox httpd, a process per connection, closes each"}[app] + \
    " (3 HA replicas, GET / = its job id, 6 bytes); direct and nginx reach web-1 only"
rounds, kills = int(rounds), int(kills)

def result(path):
    for l in open(path):
        if l.startswith("RESULT "):
            n, secs, conn, rd, wr, tmo, status, p50, p99, mean = l.split()[1:]
            return {"requests": int(n), "rps": int(n) / float(secs), "socket_errors": int(conn) + int(rd) + int(wr) + int(tmo),
                    "connect": int(conn), "read": int(rd), "write": int(wr), "timeout": int(tmo),
                    "status_errors": int(status), "p50_ms": float(p50) / 1000, "p99_ms": float(p99) / 1000}
    raise SystemExit(f"no RESULT in {path}")

runs = {(k, l): [result(f"{d}/wrk/{k}-{l}-{r}.out") for r in range(1, rounds + 1)]
        for k in ("direct", "proxied", "nginx") for l in ("full", "moderate")}
med = lambda xs: statistics.median(xs)
def summ(rs):
    return {"rps": round(med([r["rps"] for r in rs])), "p50_ms": round(med([r["p50_ms"] for r in rs]), 3),
            "p99_ms": round(med([r["p99_ms"] for r in rs]), 3),
            "errors": sum(r["socket_errors"] + r["status_errors"] for r in rs),
            "each_rps": [round(r["rps"]) for r in rs], "each_p99_ms": [round(r["p99_ms"], 3) for r in rs]}
s = {f"{k}_{l}": summ(v) for (k, l), v in runs.items()}
# Ratios per round (same round, same machine state), then the median.
ratio = lambda a, b, l: round(med([x["rps"] / y["rps"] for x, y in zip(runs[(a, l)], runs[(b, l)])]), 3)
added = lambda a, l, q: round(med([x[q] - y[q] for x, y in zip(runs[(a, l)], runs[("direct", l)])]), 3)

# Strider log lines "2026-12-04T09:55:57.795 ..." (local time) saying a job
# runs healthy, or that its host starts stopping it (sauron's stop arrived:
# the proxies hear of it by the same notice round).
healthy, stopping = [], []
for p in glob.glob(f"{d}/logs/strider-h*.log"):
    for l in open(p, errors="replace"):
        m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d+) (.*)", l)
        if not m:
            continue
        t = time.mktime(datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").timetuple()) + float("0." + m.group(2))
        if "running healthy" in m.group(3):
            healthy.append((t, m.group(3)))
        elif re.search(r"\] stopping \S+: sauron", m.group(3)):
            stopping.append((t, m.group(3)))
healthy.sort()
stopping.sort()
# How the new replica went into the proxies: the runtime API (each proxy's
# strider logs "<server> added by the runtime API (N of N commands ...)").
added_lines = [l for p in glob.glob(f"{d}/logs/strider-h*.log") for l in open(p, errors="replace")
               if "added by the runtime API" in l and "webx-1" in l]
added_whole = sum(1 for l in added_lines if re.search(r"\((\d+) of \1 commands", l))
loop = []
for l in open(f"{d}/loop.txt"):
    f = l.split()
    if len(f) == 3:
        loop.append((float(f[0]), f[1], f[2]))
loop_failed = sum(1 for _, _, c in loop if c != "200")
# Every request the env proxies sent to a replica (wrk's load and the curl
# loop alike), from their access logs as followed during the events:
# "[%tr] frontend backend/r_<job>_<hash>".
served = {}
for p in glob.glob(f"{d}/router-*.txt"):
    for l in open(p, errors="replace"):
        m = re.search(r"\[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d\.\d{3})\] \S+ \S+/r_(\S+)_[0-9a-f]{8} ", l)
        if m:
            t = datetime.datetime.strptime(m.group(1), "%d/%b/%Y:%H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc).timestamp()
            served.setdefault(m.group(2), []).append(t)
for ts in served.values():
    ts.sort()
up_ms, new_ms, down_ms, notes = [], [], [], []
up_curl_ms, new_curl_ms, down_curl_ms = [], [], []
for l in open(f"{d}/events.txt"):
    what, job, t, host = l.split()
    t = float(t)
    if what in ("kill", "add"):
        th = next((ht for ht, text in healthy if ht > t and re.search(rf"\b{re.escape(job)}\b", text)), None)
        if th is None:
            notes.append(f"no 'running healthy' line for {job} after its {what}"); continue
        tf = next((lt for lt in served.get(job, []) if lt > th), None)
        if tf is None:
            notes.append(f"the proxies sent {job} no request after it was healthy"); continue
        (up_ms if what == "kill" else new_ms).append(round((tf - th) * 1000))
        tc = next((lt for lt, b, c in loop if lt > th and b == job), None)
        if tc is not None:
            (up_curl_ms if what == "kill" else new_curl_ms).append(round((tc - th) * 1000))
        if what == "add":
            notes.append(f"{job} added to {added_whole} env prox{'y' if added_whole == 1 else 'ies'} "
                         f"by the runtime API, taken whole")
    else:
        # From its host's "stopping" line (rv stop's own start and sauron's
        # handling are not the proxy's), clamped at 0: the loop may have had
        # its last answer from it just before.
        ts = next((st for st, text in stopping if st > t and re.search(rf"stopping {re.escape(job)}:", text)), None)
        if ts is None:
            notes.append(f"no 'stopping' line for {job} after rv stop"); continue
        last = [lt for lt in served.get(job, []) if lt > t]
        down_ms.append(max(0, round(((last[-1] - ts) if last else 0.0) * 1000)))
        last = [lt for lt, b, c in loop if lt > t and b == job]
        down_curl_ms.append(max(0, round(((last[-1] - ts) if last else 0.0) * 1000)))
        notes.append(f"rv stop issued -> {job}'s host stopping it: {round((ts - t) * 1000)} ms; "
                     f"the curl loop's median interval {round(med([b - a for (a, _, _), (b, _, _) in zip(loop, loop[1:])] or [0]) * 1000)} ms")
ev = result(f"{d}/wrk/event.out")
failed = ev["socket_errors"] + ev["status_errors"] + loop_failed
res = {
    "direct_rps": s["direct_full"]["rps"],
    "proxied_rps": s["proxied_full"]["rps"],
    "nginx_rps": s["nginx_full"]["rps"],
    "added_p99_ms": added("proxied", "moderate", "p99_ms"),
    "config_apply_ms": max(up_ms + new_ms + down_ms) if up_ms + new_ms + down_ms else None,
    "failed_requests": failed,
    "ratios": {"proxied_vs_direct_rps": ratio("proxied", "direct", "full"),
               "nginx_vs_direct_rps": ratio("nginx", "direct", "full"),
               "proxied_vs_nginx_rps": ratio("proxied", "nginx", "full")},
    "added_ms": {"proxied_p50_moderate": added("proxied", "moderate", "p50_ms"),
                 "proxied_p99_moderate": added("proxied", "moderate", "p99_ms"),
                 "nginx_p50_moderate": added("nginx", "moderate", "p50_ms"),
                 "nginx_p99_moderate": added("nginx", "moderate", "p99_ms")},
    "paths": s,
    "cpu_cores_full_load_round1": {k: json.load(open(f"{d}/cpu-{k}.json")) for k in ("direct", "proxied", "nginx")},
    "config_apply": {"healthy_to_first_request_ms": up_ms, "new_replica_healthy_to_first_request_ms": new_ms,
                     "stop_to_last_request_ms": down_ms, "notes": notes,
                     "curl_loop": {"healthy_to_first_answer_ms": up_curl_ms, "new_replica_healthy_to_first_answer_ms":
                                   new_curl_ms, "stop_to_last_answer_ms": down_curl_ms},
                     "what": "kill: the replica's strider logged 'running healthy' -> the first request an env proxy "
                             "sent it (the proxies' access logs, wrk's load and the curl loop); new: the same for a "
                             "replica the proxies never had; stop: its host's strider logs 'stopping' -> the last "
                             "request sent to it. curl_loop: the same seen by a sequential curl loop through the edge "
                             "(a request every ~100 ms, spread over the replicas: coarser)"},
    "failures": {"wrk_under_events": {"requests": ev["requests"], "socket_errors": ev["socket_errors"],
                                      "status_errors": ev["status_errors"],
                                      "socket": {k: ev[k] for k in ("connect", "read", "write", "timeout")}},
                 "curl_loop": {"requests": len(loop), "failed": loop_failed}, "kills": kills, "new_replicas": 1, "stops": 1},
    "load": {"full": "wrk -t2 -c16 keep-alive, as fast as it goes", "moderate":
             "wrk -t1 -c4, each connection waits 5 ms before each request (~700 req/s offered)",
             "event": "wrk -t1 -c8 through the edge during the kills, the new replica and the stop"},
    "app": app_what, "app_kind": app,
    "rounds": rounds, "full_s": int(dur), "moderate_s": int(mdur),
    "pod_up_s": float(pod_up_s), "bench_seconds": int(bench_s), "loadavg_at_start": la0, "loadavg_at_end": la1,
    "goal": {"proxied_vs_direct_rps": 0.7, "added_p99_ms": 1.0, "config_apply_ms": 1000, "failed_requests": 0},
}
res["goal_met"] = {"rps": res["ratios"]["proxied_vs_direct_rps"] >= 0.7, "added_p99": res["added_p99_ms"] < 1.0,
                   "config_apply": res["config_apply_ms"] is not None and res["config_apply_ms"] < 1000,
                   "failed_requests": failed == 0}
json.dump(res, open(out, "w"), indent=1)
ok = lambda b: "met" if b else "MISSED"
print()
print(f"ingress, app {app}, {rounds} round(s), medians (full load {dur} s, moderate {mdur} s per run)")
print(f"  {'path':44} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} | {'moderate: req/s':>15} {'p50 ms':>7} {'p99 ms':>7}")
for k, what in (("direct", "(a) direct HTTP to one replica, from its host"),
                ("proxied", "(b) HTTPS edge + env proxy + overlay"),
                ("nginx", "(c) HTTPS plain nginx on the replica's host")):
    f, m = s[f"{k}_full"], s[f"{k}_moderate"]
    print(f"  {what:44} {f['rps']:7d} {f['p50_ms']:7.2f} {f['p99_ms']:7.2f} | {m['rps']:15d} {m['p50_ms']:7.2f} {m['p99_ms']:7.2f}")
print(f"  (b)/(a) req/s {res['ratios']['proxied_vs_direct_rps']:.2f} (goal >= 0.70: {ok(res['goal_met']['rps'])}); "
      f"(c)/(a) {res['ratios']['nginx_vs_direct_rps']:.2f}; (b)/(c) {res['ratios']['proxied_vs_nginx_rps']:.2f}")
print(f"  added p99 at the moderate rate: (b) {res['added_p99_ms']:.2f} ms (goal < 1 ms: {ok(res['goal_met']['added_p99'])}), "
      f"(c) {res['added_ms']['nginx_p99_moderate']:.2f} ms")
print(f"  config apply (the proxies' access logs): healthy -> first request {up_ms} ms (a new replica: {new_ms} ms), "
      f"stopping -> last request {down_ms} ms (goal < 1000: {ok(res['goal_met']['config_apply'])}) {'; '.join(notes)}")
print(f"    as the curl loop saw it: first answer {up_curl_ms} ms (new: {new_curl_ms} ms), last answer {down_curl_ms} ms")
print(f"  failed requests over {kills} kill(s), a new replica and 1 rv stop: {failed} (wrk {ev['requests']} requests: "
      f"{ev['socket_errors']} socket errors, {ev['status_errors']} HTTP >= 400; curl loop {len(loop)}: {loop_failed}) "
      f"(goal 0: {ok(res['goal_met']['failed_requests'])})")
for k in ("direct", "proxied", "nginx"):
    c = res["cpu_cores_full_load_round1"][k]
    print(f"  cores used, {k} full load: " + ", ".join(f"{n} {v:.2f}" for n, v in c.items() if v >= 0.01))
print(f"  bench took {bench_s} s (pod up {pod_up_s} s); load average at the start {la0}, at the end {la1}")
PY
