# bench/lib/underlay.bash: make_underlay PREFIX creates the two namespace
# hosts ${PREFIX}h1 and ${PREFIX}h2 (10.88.0.1 and .2 on eth0, forwarding on)
# joined by bridge br0 in namespace ${PREFIX}ul; make_container adds a
# container namespace routed by its host (plain veth routing). Sourced by the
# overlay benchmarks; the caller removes the namespaces.
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

# make_container PREFIX NAME HOST ADDR MTU: namespace ${PREFIX}NAME attached to
# host HOST by a veth, address ADDR/32, default route via the host's 169.254.1.1.
make_container() {
  local p=$1 c=$2 h=$3 a=$4 mtu=$5
  ip netns add $p$c
  ip -n $p$c link set lo up
  ip -n ${p}h$h link add v$c mtu $mtu type veth peer name eth0 netns $p$c mtu $mtu
  ip -n ${p}h$h link set v$c up
  ip -n ${p}h$h addr add 169.254.1.1/32 dev v$c scope link
  ip -n ${p}h$h route add $a/32 dev v$c
  ip -n $p$c addr add $a/32 dev eth0
  ip -n $p$c link set eth0 up
  ip -n $p$c route add 169.254.1.1 dev eth0 scope link
  ip -n $p$c route add default via 169.254.1.1 dev eth0
}
