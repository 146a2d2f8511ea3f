# bench/lib/underlay.bash: make_underlay PREFIX creates the two namespace
# hosts ${PREFIX}h1 and ${PREFIX}h2 (10.88.0.1 and .2 on eth0, forwarding on)
# joined by bridge br0 in namespace ${PREFIX}ul. Sourced by the overlay
# benchmarks; the caller removes the namespaces.
make_underlay() {
  local p=$1 h
  ip netns add ${p}ul
  ip -n ${p}ul link add br0 type bridge
  ip -n ${p}ul link set br0 up
  for h in 1 2; do
    ip netns add ${p}h$h
    ip -n ${p}h$h link add eth0 type veth peer name vh$h netns ${p}ul
    ip -n ${p}ul link set vh$h master br0 up
    ip -n ${p}h$h addr add 10.88.0.$h/24 dev eth0
    ip -n ${p}h$h link set eth0 up
    ip -n ${p}h$h link set lo up
    ip netns exec ${p}h$h sysctl -qw net.ipv4.ip_forward=1
  done
}
