# Sourced by the shell pod tests: reserve_test_ports sets $port to the first
# of 32 listen ports that no other test uses while this shell (or a process
# it started) lives. Same blocks and lock files as common/transport/test_ports.h
# (ports 20000 + 32k .. +31, k < 380, /tmp/rv-test-ports/k): below the kernel's
# ephemeral range, so no outgoing connection takes one before the pod's
# daemons bind it, and locked, so concurrent tests (C++ or shell) never share.
reserve_test_ports() {
  local dir=/tmp/rv-test-ports start n block
  mkdir -p "$dir" && chmod 1777 "$dir" 2>/dev/null
  start=$((RANDOM % 380))
  for ((n = 0; n < 380; n++)); do
    block=$(((start + n) % 380))
    port=$((20000 + block * 32))
    # A listener outside the scheme (a pod someone runs by hand) holds one.
    [ -n "$(ss -Hltn "sport >= :$port and sport <= :$((port + 31))" 2>/dev/null)" ] && continue
    : >>"$dir/$block" 2>/dev/null
    exec {rv_test_port_lock}<"$dir/$block" || continue
    flock -n "$rv_test_port_lock" && return 0
    exec {rv_test_port_lock}<&-
  done
  echo "reserve_test_ports: every block of $dir is locked" >&2
  return 1
}
