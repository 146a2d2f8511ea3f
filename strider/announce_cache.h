// AnnounceCache: decode an identical auction announce once per process.
//
// For simulators that host many strider Agents in one process (the auction
// benchmark runs 500 per process). elrond sends the same announce bytes to
// every host it samples; a real pod decodes them once per host, each on its
// own CPU, in parallel. Five hundred simulated hosts decoding the same 40 KB
// one after the other on a shared core made their bids miss elrond's deadline,
// which measured the simulator, not the pod. With a cache the first agent
// decodes and the others reuse the result after comparing the bytes.
//
// A production strider runs one Agent and leaves AgentOptions::announce_cache
// null. Not thread-safe: share it only between agents of one thread.
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/msg/protocol.h"

namespace rv::strider {

class AnnounceCache {
 public:
  explicit AnnounceCache(size_t capacity = 64) : capacity_(capacity == 0 ? 1 : capacity) {}

  // What was decoded from exactly these bytes before, or null.
  std::shared_ptr<const msg::Announce> Find(std::string_view bytes) const;
  // Remembers `announce` as the decoding of `bytes`; the oldest entry goes
  // when full.
  void Put(std::string_view bytes, std::shared_ptr<const msg::Announce> announce);

  size_t hits() const { return hits_; }

 private:
  struct Entry {
    std::string bytes;
    std::shared_ptr<const msg::Announce> announce;
  };
  size_t capacity_;
  std::unordered_multimap<size_t, Entry> entries_;
  std::deque<size_t> order_;  // hashes, oldest first
  mutable size_t hits_ = 0;
};

}  // namespace rv::strider
