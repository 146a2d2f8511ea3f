// ProxyCertCache: per environment, the last whole certificate set this host
// opened from host.proxy_certs, so that a refresh can send its version and
// sauron answers "unchanged" instead of sealing every key again. Each proxy
// refreshes every few seconds (and at every notice) while its names rarely
// change: without it, sauron sealed and the host opened every key of the env
// each time.
//
// Contract:
//  * Known(env) is the version to send (0: none held, ask for everything).
//  * Keep() holds a set only when every key in it opened (`complete`): a set
//    missing a name is never reused, so the next refresh asks for all again.
//  * Reuse() gives a copy of the held set only for the version sauron
//    confirmed; the caller wipes the copies' keys as it does with fresh ones.
//  * A set not used for `idle_ms` is dropped and its keys wiped (Expire,
//    called by the owner): a proxy that left this host leaves no key behind
//    in memory for long.
//  * Pure (time is passed in); not thread-safe: SauronProxySource's lock
//    guards it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "strider/proxy_workload.h"

namespace rv::strider {

class ProxyCertCache {
 public:
  explicit ProxyCertCache(int64_t idle_ms = 10 * 60 * 1000) : idle_ms_(idle_ms) {}
  ~ProxyCertCache();
  ProxyCertCache(const ProxyCertCache&) = delete;
  ProxyCertCache& operator=(const ProxyCertCache&) = delete;

  int64_t Known(const std::string& env) const;
  std::optional<std::vector<ProxyCert>> Reuse(const std::string& env, int64_t version, int64_t now_ms);
  void Keep(const std::string& env, int64_t version, const std::vector<ProxyCert>& certs, bool complete,
            int64_t now_ms);
  void Expire(int64_t now_ms);
  // Drops env's set (and wipes its keys): the next refresh asks for all.
  void Forget(const std::string& env);
  size_t size() const { return sets_.size(); }

 private:
  struct Set {
    int64_t version = 0;
    std::vector<ProxyCert> certs;
    int64_t used_ms = 0;
  };
  void Drop(std::map<std::string, Set>::iterator it);

  int64_t idle_ms_;
  std::map<std::string, Set> sets_;
};

}  // namespace rv::strider
