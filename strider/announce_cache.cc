#include "strider/announce_cache.h"

#include <functional>

namespace rv::strider {

std::shared_ptr<const msg::Announce> AnnounceCache::Find(std::string_view bytes) const {
  auto [lo, hi] = entries_.equal_range(std::hash<std::string_view>{}(bytes));
  for (auto it = lo; it != hi; ++it) {
    if (it->second.bytes == bytes) {
      ++hits_;
      return it->second.announce;
    }
  }
  return nullptr;
}

void AnnounceCache::Put(std::string_view bytes, std::shared_ptr<const msg::Announce> announce) {
  if (!announce) return;
  size_t h = std::hash<std::string_view>{}(bytes);
  while (order_.size() >= capacity_) {
    auto [lo, hi] = entries_.equal_range(order_.front());
    if (lo != hi) entries_.erase(lo);  // the oldest of that hash went in first
    order_.pop_front();
  }
  entries_.emplace(h, Entry{std::string(bytes), std::move(announce)});
  order_.push_back(h);
}

}  // namespace rv::strider
