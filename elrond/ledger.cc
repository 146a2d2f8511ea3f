#include "elrond/ledger.h"

#include <algorithm>

#include "elrond/placement.h"

namespace rv::elrond {
namespace {

int64_t Ceil(int64_t v, int64_t ceiling) { return ceiling > 0 ? std::min(v, ceiling) : v; }

msg::Resources CeilRes(const msg::Resources& r, const msg::Resources& c) {
  return {Ceil(r.ram_mb, c.ram_mb), Ceil(r.disk_mb, c.disk_mb), Ceil(r.cpu_millis, c.cpu_millis)};
}

}  // namespace

void Ledger::SetHost(const std::string& host, const msg::Resources& capacity, const msg::Resources& max_capacity) {
  Book& b = books_[host];
  b.max_capacity = max_capacity;
  if (b.last_bid == 0 || capacity.ram_mb || capacity.disk_mb || capacity.cpu_millis) {
    b.capacity = CeilRes(capacity, max_capacity);
  }
  b.capacity = CeilRes(b.capacity, max_capacity);
}

void Ledger::SetReportedFree(const std::string& host, const msg::Resources& free) {
  Book& b = books_[host];
  if (b.last_bid == 0) b.bid_free = free;
}

void Ledger::RemoveHost(const std::string& host) { books_.erase(host); }

void Ledger::Refresh(Book& b) {
  b.fresh.clear();
  b.fresh_sum = {};
  for (const auto& [job, e] : b.committed) {
    if (e.reflected_from > b.last_bid) {
      b.fresh.push_back(job);
      b.fresh_sum = Plus(b.fresh_sum, e.res);
    }
  }
}

Ledger::BidCheck Ledger::ApplyBid(const std::string& host, int64_t auction_id, const msg::Resources& free_in,
                                  const msg::Resources& capacity_in, int64_t /*now_ms*/) {
  BidCheck out;
  Book& b = books_[host];
  if (auction_id < b.last_bid) {
    out.stale = true;
    out.free = free_in;
    return out;
  }
  auto nonneg = [&](int64_t v, const char* what) {
    if (v < 0) {
      out.lying = true;
      out.why += std::string(out.why.empty() ? "" : "; ") + "negative " + what;
      return int64_t{0};
    }
    return v;
  };
  msg::Resources cap{nonneg(capacity_in.ram_mb, "capacity"), nonneg(capacity_in.disk_mb, "capacity"),
                     nonneg(capacity_in.cpu_millis, "capacity")};
  msg::Resources free{nonneg(free_in.ram_mb, "free"), nonneg(free_in.disk_mb, "free"),
                      nonneg(free_in.cpu_millis, "free")};
  msg::Resources capped = CeilRes(cap, b.max_capacity);
  if (capped.ram_mb != cap.ram_mb || capped.disk_mb != cap.disk_mb || capped.cpu_millis != cap.cpu_millis) {
    out.lying = true;
    out.why += std::string(out.why.empty() ? "" : "; ") + "capacity " + Describe(cap) +
               " above the enrolled ceiling " + Describe(b.max_capacity);
  }
  // A bid without capacity keeps the capacity sauron reported.
  if (capped.ram_mb || capped.disk_mb || capped.cpu_millis) b.capacity = capped;

  b.last_bid = auction_id;
  Refresh(b);
  if (!Fits(free, cap)) {
    out.lying = true;
    out.why += std::string(out.why.empty() ? "" : "; ") + "free " + Describe(free) + " exceeds its own capacity " +
               Describe(cap);
  }
  // What the bid must leave out: the committed jobs it reflects.
  msg::Resources reflected = Minus(b.committed_sum, b.fresh_sum);
  msg::Resources limit = Min(Minus(b.capacity, reflected), b.capacity);
  msg::Resources tolerated = limit;
  if (!Fits(free, limit)) {
    // One over-claim can be a race (the host freed a stopped job before elrond
    // heard of the stop); the same claim in the next bid is a lie.
    if (b.overclaimed_last) {
      out.lying = true;
      out.why += std::string(out.why.empty() ? "" : "; ") + "free " + Describe(free) +
                 " exceeds capacity minus committed jobs " + Describe(limit) + " in two bids in a row";
    }
    b.overclaimed_last = true;
  } else {
    b.overclaimed_last = false;
  }
  free = Min(free, tolerated);
  b.bid_free = free;
  out.free = free;
  return out;
}

void Ledger::Commit(const std::string& host, const std::string& job, const msg::Resources& r,
                    int64_t reflected_from) {
  Book& b = books_[host];
  auto [it, inserted] = b.committed.try_emplace(job, Entry{r, reflected_from});
  if (!inserted) {
    // Re-commit of the same job (a newer attempt on the same host): replace.
    b.committed_sum = Minus(b.committed_sum, it->second.res);
    it->second = Entry{r, reflected_from};
  }
  b.committed_sum = Plus(b.committed_sum, r);
  Refresh(b);
}

void Ledger::SetReflectedFrom(const std::string& host, const std::string& job, int64_t from) {
  auto bit = books_.find(host);
  if (bit == books_.end()) return;
  auto it = bit->second.committed.find(job);
  if (it == bit->second.committed.end()) return;
  if (from < it->second.reflected_from) {
    it->second.reflected_from = from;
    Refresh(bit->second);
  }
}

void Ledger::Release(const std::string& host, const std::string& job, int64_t /*now_ms*/) {
  auto bit = books_.find(host);
  if (bit == books_.end()) return;
  Book& b = bit->second;
  auto it = b.committed.find(job);
  if (it == b.committed.end()) return;
  b.committed_sum = Minus(b.committed_sum, it->second.res);
  b.committed.erase(it);
  Refresh(b);
}

msg::Resources Ledger::EffectiveFree(const std::string& host) const {
  auto it = books_.find(host);
  if (it == books_.end()) return {};
  const Book& b = it->second;
  return Min(Minus(b.bid_free, b.fresh_sum), Minus(b.capacity, b.committed_sum));
}

msg::Resources Ledger::Capacity(const std::string& host) const {
  auto it = books_.find(host);
  return it == books_.end() ? msg::Resources{} : it->second.capacity;
}

msg::Resources Ledger::Committed(const std::string& host) const {
  auto it = books_.find(host);
  return it == books_.end() ? msg::Resources{} : it->second.committed_sum;
}

bool Ledger::HasBid(const std::string& host) const {
  auto it = books_.find(host);
  return it != books_.end() && it->second.last_bid > 0;
}

}  // namespace rv::elrond
