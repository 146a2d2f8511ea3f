#include "overlay/ipam.h"

namespace rv::overlay {

Result<Ipam> Ipam::Create(const std::string& pod_cidr, int env_prefix_len, int64_t quarantine_ms) {
  auto pod = ParsePrefix(pod_cidr);
  if (!pod.ok()) return pod.status();
  if (env_prefix_len < pod->len || env_prefix_len > 30)
    return Status::Invalid("env prefix length must be between the pod's and /30");
  if (quarantine_ms < 0) return Status::Invalid("quarantine must be >= 0");
  return Ipam(*pod, env_prefix_len, quarantine_ms);
}

Result<Prefix> Ipam::AllocateSubnet(uint32_t env_id, int64_t now_ms) {
  auto it = envs_.find(env_id);
  if (it != envs_.end()) return it->second.subnet;
  uint64_t count = uint64_t{1} << (env_len_ - pod_.len);
  uint64_t step = uint64_t{1} << (32 - env_len_);
  auto take = [&](uint32_t net) {
    Env e;
    e.subnet = Prefix{net, env_len_};
    envs_[env_id] = std::move(e);
    subnet_owner_[net] = env_id;
    subnet_quarantine_.erase(net);
    return envs_[env_id].subnet;
  };
  while (next_subnet_ < count) {
    uint32_t net = pod_.addr + uint32_t(next_subnet_ * step);
    next_subnet_++;
    if (!subnet_owner_.count(net) && !subnet_quarantine_.count(net)) return take(net);
  }
  // Reuse the subnet that has been out of service the longest, if its quarantine is over.
  uint32_t best = 0;
  int64_t best_at = INT64_MAX;
  for (auto& [net, at] : subnet_quarantine_)
    if (now_ms - at >= quarantine_ms_ && at < best_at) best = net, best_at = at;
  if (best_at == INT64_MAX) return Status::Unavailable("overlay pod range has no free subnet");
  return take(best);
}

Result<Prefix> Ipam::SubnetOf(uint32_t env_id) const {
  auto it = envs_.find(env_id);
  if (it == envs_.end()) return Status::NotFound("environment has no subnet");
  return it->second.subnet;
}

Status Ipam::ReleaseSubnet(uint32_t env_id, int64_t now_ms) {
  auto it = envs_.find(env_id);
  if (it == envs_.end()) return Status::NotFound("environment has no subnet");
  if (!it->second.by_owner.empty()) return Status::Conflict("environment still has containers");
  subnet_owner_.erase(it->second.subnet.addr);
  subnet_quarantine_[it->second.subnet.addr] = now_ms;
  envs_.erase(it);
  return Status::Ok();
}

Result<uint32_t> Ipam::AllocateAddress(uint32_t env_id, const std::string& container_id,
                                       int64_t now_ms) {
  if (container_id.empty()) return Status::Invalid("container id is empty");
  auto it = envs_.find(env_id);
  if (it == envs_.end()) return Status::NotFound("environment has no subnet");
  Env& e = it->second;
  if (auto o = e.by_owner.find(container_id); o != e.by_owner.end()) return o->second;
  uint32_t hosts = uint32_t(e.subnet.Size());
  auto take = [&](uint32_t a) {
    e.by_owner[container_id] = a;
    e.by_addr[a] = container_id;
    e.quarantine.erase(a);
    return a;
  };
  // Offsets 1 .. size-2: skip the network and broadcast addresses.
  while (e.next + 1 < hosts - 1) {
    uint32_t a = e.subnet.addr + e.next + 1;
    e.next++;
    if (!e.by_addr.count(a) && !e.quarantine.count(a)) return take(a);
  }
  uint32_t best = 0;
  int64_t best_at = INT64_MAX;
  for (auto& [a, at] : e.quarantine)
    if (now_ms - at >= quarantine_ms_ && at < best_at) best = a, best_at = at;
  if (best_at == INT64_MAX)
    return Status::Unavailable("environment subnet " + FormatPrefix(e.subnet) + " is full");
  return take(best);
}

Status Ipam::ReleaseAddress(uint32_t env_id, const std::string& container_id, int64_t now_ms) {
  auto it = envs_.find(env_id);
  if (it == envs_.end()) return Status::NotFound("environment has no subnet");
  Env& e = it->second;
  auto o = e.by_owner.find(container_id);
  if (o == e.by_owner.end()) return Status::NotFound("container holds no address");
  e.by_addr.erase(o->second);
  e.quarantine[o->second] = now_ms;
  e.by_owner.erase(o);
  return Status::Ok();
}

std::string Ipam::OwnerOf(uint32_t env_id, uint32_t addr) const {
  auto it = envs_.find(env_id);
  if (it == envs_.end()) return "";
  auto a = it->second.by_addr.find(addr);
  return a == it->second.by_addr.end() ? "" : a->second;
}

std::vector<Ipam::Record> Ipam::Records() const {
  std::vector<Record> out;
  for (auto& [net, at] : subnet_quarantine_) out.push_back({"subnet", 0, "", net, at});
  for (auto& [env, e] : envs_) {
    out.push_back({"subnet", env, "", e.subnet.addr, -1});
    for (auto& [owner, a] : e.by_owner) out.push_back({"addr", env, owner, a, -1});
    for (auto& [a, at] : e.quarantine) out.push_back({"addr", env, "", a, at});
  }
  return out;
}

Status Ipam::Restore(const std::vector<Record>& records) {
  Ipam fresh(pod_, env_len_, quarantine_ms_);
  for (auto& r : records) {
    if (r.kind != "subnet") continue;
    Prefix p{r.addr, env_len_};
    if ((r.addr & ~p.Mask()) != 0 || !pod_.Contains(p))
      return Status::Invalid("record subnet " + FormatAddr(r.addr) + " is outside the pod range");
    if (r.released_ms >= 0) {
      fresh.subnet_quarantine_[r.addr] = r.released_ms;
      continue;
    }
    if (fresh.envs_.count(r.env_id) || fresh.subnet_owner_.count(r.addr))
      return Status::Conflict("duplicate subnet record");
    Env e;
    e.subnet = p;
    fresh.envs_[r.env_id] = e;
    fresh.subnet_owner_[r.addr] = r.env_id;
  }
  for (auto& r : records) {
    if (r.kind == "subnet") continue;
    if (r.kind != "addr") return Status::Invalid("unknown record kind '" + r.kind + "'");
    auto it = fresh.envs_.find(r.env_id);
    if (it == fresh.envs_.end()) return Status::Invalid("address record for unknown environment");
    Env& e = it->second;
    if (!e.subnet.Contains(r.addr)) return Status::Invalid("address outside its environment's subnet");
    if (r.released_ms >= 0) {
      e.quarantine[r.addr] = r.released_ms;
    } else {
      if (r.owner.empty() || e.by_owner.count(r.owner) || e.by_addr.count(r.addr))
        return Status::Conflict("duplicate address record");
      e.by_owner[r.owner] = r.addr;
      e.by_addr[r.addr] = r.owner;
    }
    e.next = std::max(e.next, r.addr - e.subnet.addr);
  }
  // Never-used cursors restart after the highest subnet seen.
  uint64_t step = uint64_t{1} << (32 - env_len_);
  for (auto& [net, env] : fresh.subnet_owner_)
    fresh.next_subnet_ = std::max<uint64_t>(fresh.next_subnet_, (net - pod_.addr) / step + 1);
  for (auto& [net, at] : fresh.subnet_quarantine_)
    fresh.next_subnet_ = std::max<uint64_t>(fresh.next_subnet_, (net - pod_.addr) / step + 1);
  *this = std::move(fresh);
  return Status::Ok();
}

}  // namespace rv::overlay
