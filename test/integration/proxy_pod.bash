# Sourced by the env-proxy pod tests (pod_proxy_test.sh, pod_proxy_deploy_test.sh):
# what they share to stand up a pod of 3 namespace hosts with the edge and to
# reach an env's proxies. Each test keeps its own steps and checks.
#
#   proxy_pod_start TEST ROOT BUILD DIR_PREFIX PROGRAM...
#       needs root and PROGRAMs (need.bash), checks the binaries in $proxy_pod_bins
#       are built, makes $dir (mktemp DIR_PREFIX.XXXXXX), reserves $port
#       (test_ports.bash), sets $pod, $rv, $ca, $eport and traps EXIT to cleanup.
#   proxy_pod_up        scripts/pod up --hosts 3 (busybox stack, the edge on
#                       P+24/P+25); sets $subnet, $netkey, $edge_addr
#   fail MSG            prints MSG, the test's fail_more (if defined), the pod's
#                       state and logs, exits 1
# Helpers: ms, hostaddr, host_of, running, wait_running, tag, cid, edge, ingress,
# proxy_port_in. A test sets loop_pid / cap_pid / follow_pid to a background job cleanup kills.

proxy_pod_start() {
  proxy_pod_test=$1 root=$2
  export RV_BUILD=$3
  local prefix=$4 b
  shift 4
  . "$root/test/integration/need.bash"
  need_root_and "$proxy_pod_test" "$@"
  for b in $proxy_pod_bins; do
    [ -x "$RV_BUILD/$b" ] || { echo "FAIL: $proxy_pod_test: $RV_BUILD/$b is not built" >&2; exit 1; }
  done
  dir=$(mktemp -d "$prefix.XXXXXX")
  chmod 755 "$dir"
  . "$root/test/integration/test_ports.bash"
  reserve_test_ports || exit 1
  pod="$root/scripts/pod"
  rv="$RV_BUILD/cli/rv --pod $dir/pod.json"
  ca=$dir/keys/pod-ca.crt
  eport=$((port + 25))  # the edge's HTTPS port, inside this test's reserved block
  trap cleanup EXIT
  trap 'exit 1' INT TERM
}
proxy_pod_bins="overlay/overlayd cli/rv strider/strider sauron/sauron common/oci/rv-image edge/rv-edge"

ms() { echo $((($(date +%s%N) - $1) / 1000000)); }

fail() {
  local f
  echo "FAIL: $proxy_pod_test: $*" >&2
  declare -F fail_more >/dev/null && fail_more
  $rv ps >&2 || true
  $rv events --limit 40 >&2 || true
  for f in "$dir"/logs/strider-*.log "$dir"/logs/sauron.log "$dir"/logs/edge*.log; do
    [ -e "$f" ] && { echo "--- $(basename "$f")" >&2; tail -n 15 "$f" >&2; }
  done
  # The proxies' own lines and every access log line that is not a clean 200.
  for f in "$dir"/hosts/h*/container/containers/rv-*proxy*/console.log; do
    [ -e "$f" ] && { echo "--- $f (not 200 ----)" >&2; grep -v ' 200 [0-9]* ---- ' "$f" | grep -v '^\[NOTICE\]\|^<5>' | tail -n 25 >&2; }
  done
  exit 1
}

cleanup() {
  [ -n "${loop_pid:-}" ] && kill "$loop_pid" 2>/dev/null
  [ -n "${cap_pid:-}" ] && kill "$cap_pid" 2>/dev/null
  [ -n "${follow_pid:-}" ] && kill "$follow_pid" 2>/dev/null
  [ "${RV_KEEP_POD:-0}" = 1 ] && { echo "pod kept in $dir" >&2; return; }
  "$pod" down --dir "$dir" >/dev/null 2>&1 || true
  rm -rf "$dir"
}

proxy_pod_up() {
  RV_POD_STACKS=busybox RV_POD_HTTP_PORT=$((port + 24)) RV_POD_HTTPS_PORT=$eport "$pod" up --hosts 3 --dir "$dir" \
    --base-port "$port" >"$dir/up.log" 2>&1 || { tail -n 40 "$dir/up.log" >&2; fail "pod up"; }
  subnet=$(awk -F= '$1 == "subnet" {print $2}' "$dir/net.env")
  netkey=$(awk -F= '$1 == "key" {print $2}' "$dir/net.env")
  [ -n "$subnet" ] && [ -n "$netkey" ] || fail "no subnet/key in $dir/net.env"
  edge_addr=$subnet.1
}

# hostaddr hN: the host's underlay address.
hostaddr() { echo "$subnet.$((10 + ${1#h}))"; }
# host_of JOB: the host rv ps shows JOB on.
host_of() { $rv ps | awk -v id="$1" '$1 == id {print $4}'; }
# tag hN: the host's tag (scripts/pod host_tag): its runc root is /run/rivendell/TAG/runc.
tag() { echo "$1-$(printf %s "$dir/hosts/$1" | sha256sum | cut -c1-8)"; }
# cid JOB: the job's runc container id (strider's ContainerId).
cid() {
  local clean
  clean=$(printf %s "$1" | head -c 40 | LC_ALL=C tr 'A-Z' 'a-z' | LC_ALL=C tr -c 'a-z0-9._-' '_')
  echo "rv-$clean-$(printf %s "$1" | sha256sum | cut -c1-8)"
}
# running JOB...: every JOB's run state is running (rv ps).
running() {
  local j s
  for j in "$@"; do
    s=$($rv ps | awk -v id="$j" '$1 == id {print $5}')
    [ "$s" = running ] || return 1
  done
}
wait_running() {  # wait_running SECONDS JOB...
  local t=$1
  shift
  for _ in $(seq 1 $((t * 5))); do running "$@" && return 0; sleep 0.2; done
  fail "not all running within $t s: $*"
}

# edge NAME [CURL ARGS...]: one HTTPS request to NAME at the pod's edge, checked against the pod CA.
edge() {
  local n=$1
  shift
  curl -sS -m 5 --resolve "$n:$eport:$edge_addr" --cacert "$ca" "$@" "https://$n:$eport/"
}
# ingress NAME PORT hN [CURL ARGS...]: one HTTPS request to NAME at a proxy's
# ingress on hN's underlay address, with the PROXY protocol header the edge sends.
ingress() {
  local n=$1 p=$2 h=$3
  shift 3
  curl -sS -m 5 --haproxy-protocol --resolve "$n:$p:$(hostaddr "$h")" "$@" "https://$n:$p/"
}
# proxy_port_in < TEXT: the first "port N" in TEXT (rv proxy:ensure, rv ps).
proxy_port_in() { grep -o 'port [0-9]*' | head -n 1 | cut -d' ' -f2; }
