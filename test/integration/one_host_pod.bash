# one_host_pod_cleanup DIR [NETNS_PREFIX]: ends a test's one-host pod
# (scripts/pod up --hosts 1 --dir DIR) and whatever a failed test may have left
# of it: the network namespaces named NETNS_PREFIX*, the strider's run dir
# mount, mounts under DIR, the strider's cgroups; then removes DIR.
# Needs $root (the repository). Sourced by the pod_* tests that use one host.
one_host_pod_cleanup() {
  local dir=$1 prefix=${2:-} tag ns cg
  "$root/scripts/pod" down --dir "$dir" >/dev/null 2>&1 || true
  tag=h1-$(printf %s "$dir/hosts/h1" | sha256sum | cut -c1-8)  # the strider's run dir name
  if [ -n "$prefix" ]; then
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -- "^$prefix" || true); do ip netns delete "$ns"; done
  fi
  if mountpoint -q "/run/rivendell/$tag" 2>/dev/null; then umount -l "/run/rivendell/$tag"; fi
  rmdir "/run/rivendell/$tag" 2>/dev/null
  mount | awk -v d="$dir" 'index($3, d) == 1 {print $3}' | sort -r | while read -r m; do umount -l "$m"; done
  for cg in /sys/fs/cgroup/*/rivendell/"$tag"; do
    [ -d "$cg" ] && find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
  rm -rf "$dir"
}
