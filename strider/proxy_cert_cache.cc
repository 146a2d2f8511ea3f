#include "strider/proxy_cert_cache.h"

#include "common/crypto/sealed_box.h"

namespace rv::strider {

ProxyCertCache::~ProxyCertCache() {
  while (!sets_.empty()) Drop(sets_.begin());
}

int64_t ProxyCertCache::Known(const std::string& env) const {
  auto it = sets_.find(env);
  return it == sets_.end() ? 0 : it->second.version;
}

std::optional<std::vector<ProxyCert>> ProxyCertCache::Reuse(const std::string& env, int64_t version, int64_t now_ms) {
  auto it = sets_.find(env);
  if (it == sets_.end() || version == 0 || it->second.version != version) return std::nullopt;
  it->second.used_ms = now_ms;
  return it->second.certs;
}

void ProxyCertCache::Forget(const std::string& env) {
  if (auto it = sets_.find(env); it != sets_.end()) Drop(it);
}

void ProxyCertCache::Keep(const std::string& env, int64_t version, const std::vector<ProxyCert>& certs,
                          bool complete, int64_t now_ms) {
  Forget(env);
  if (!complete || version == 0) return;
  sets_[env] = Set{version, certs, now_ms};
}

void ProxyCertCache::Expire(int64_t now_ms) {
  for (auto it = sets_.begin(); it != sets_.end();) {
    auto next = std::next(it);
    if (now_ms - it->second.used_ms > idle_ms_) Drop(it);
    it = next;
  }
}

void ProxyCertCache::Drop(std::map<std::string, Set>::iterator it) {
  for (auto& c : it->second.certs) crypto::Wipe(c.key_pem);
  sets_.erase(it);
}

}  // namespace rv::strider
