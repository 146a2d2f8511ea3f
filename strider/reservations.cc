#include "strider/reservations.h"

#include <algorithm>
#include <limits>

#include "common/proxy_job.h"

namespace rv::strider {

Status Reservations::Admit(const Entry& e, const msg::Resources& base, int64_t auction_id) {
  if (AnyNegative(e.resources)) {
    return Status::Invalid("negative resource request");
  }
  Reservations without = *this;
  without.binding_.erase(e.job_id);
  if (e.ha) {
    for (const auto& [id, other] : without.binding_) {
      if (other.service == e.service) {
        return Status::Conflict("ha: replica " + id + " of service " + e.service + " already on this host");
      }
    }
  }
  if (e.port > 0) {
    for (const auto& [id, other] : without.binding_) {
      if (other.port == e.port && other.port_owner != e.port_owner) {
        return Status::Conflict("port " + std::to_string(e.port) + " is held here by " + id + " of environment " +
                                other.port_owner);
      }
    }
  }
  msg::Resources free = without.Free(base, auction_id);
  if (!Fits(e.resources, free)) {
    return Status::Conflict("insufficient resources: want " + Describe(e.resources) + ", free " + Describe(free));
  }
  binding_[e.job_id] = e;
  return Status::Ok();
}

void Reservations::Release(const std::string& job_id) { binding_.erase(job_id); }

const Reservations::Entry* Reservations::Find(const std::string& job_id) const {
  auto it = binding_.find(job_id);
  return it == binding_.end() ? nullptr : &it->second;
}

void Reservations::Hold(int64_t auction_id, const msg::Resources& r, int64_t expires_ms) {
  holds_[auction_id] = HoldEntry{r, expires_ms};
}

int64_t Reservations::NextHoldExpiryMs() const {
  int64_t first = std::numeric_limits<int64_t>::max();
  for (const auto& [id, h] : holds_) first = std::min(first, h.expires_ms);
  return first;
}

int Reservations::ExpireHolds(int64_t now_ms) {
  int n = 0;
  for (auto it = holds_.begin(); it != holds_.end();) {
    if (it->second.expires_ms <= now_ms) {
      it = holds_.erase(it);
      ++n;
    } else {
      ++it;
    }
  }
  return n;
}

msg::Resources Reservations::Reserved() const {
  msg::Resources sum;
  for (const auto& [id, e] : binding_) sum = Plus(sum, e.resources);
  return sum;
}

msg::Resources Reservations::Held(int64_t except_auction) const {
  msg::Resources sum;
  for (const auto& [id, h] : holds_) {
    if (id != except_auction) sum = Plus(sum, h.resources);
  }
  return sum;
}

msg::Resources Reservations::Free(const msg::Resources& base, int64_t except_auction) const {
  return MinusFloored(MinusFloored(base, Reserved()), Held(except_auction));
}

std::set<std::string> Reservations::Services() const {
  std::set<std::string> s;
  for (const auto& [id, e] : binding_) {
    if (!e.service.empty()) s.insert(e.service);
  }
  return s;
}

std::map<int, std::string> Reservations::Ports() const {
  std::map<int, std::string> m;
  for (const auto& [id, e] : binding_) {
    if (e.port > 0) m[e.port] = e.port_owner;
  }
  return m;
}

Reservations::Entry Reservations::For(const msg::JobSpec& spec, int64_t attempt) {
  Entry e;
  e.job_id = spec.id;
  e.attempt = attempt;
  e.service = spec.service;
  e.ha = spec.rules.ha;
  e.resources = spec.resources;
  if (spec.kind == kProxyKind && spec.port > 0) {
    e.port = spec.port;
    e.port_owner = spec.env;
  }
  return e;
}

std::vector<Reservations::Entry> Reservations::Entries() const {
  std::vector<Entry> v;
  for (const auto& [id, e] : binding_) v.push_back(e);
  return v;
}

}  // namespace rv::strider
