#include "common/config.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace rv {
namespace {

using nlohmann::json;

// Reads `key` from `obj` into `out` if present; records it as known.
template <typename T>
void Get(const json& obj, const char* key, T* out, std::set<std::string>* known) {
  known->insert(key);
  if (obj.contains(key)) *out = obj.at(key).get<T>();
}

Status CheckUnknown(const json& obj, const std::set<std::string>& known, const std::string& where) {
  for (auto& [k, v] : obj.items()) {
    if (!known.count(k)) return Status::Invalid("unknown key '" + k + "' in " + where);
  }
  return Status::Ok();
}

}  // namespace

Result<PodConfig> ParsePodConfig(const std::string& json_text, const std::string& default_pod_dir) {
  PodConfig cfg;
  cfg.pod_dir = default_pod_dir;
  try {
    json root = json::parse(json_text);
    if (!root.is_object()) return Status::Invalid("pod config must be a JSON object");
    std::set<std::string> known;
    Get(root, "pod_dir", &cfg.pod_dir, &known);
    known.insert("sauron");
    known.insert("elrond");
    known.insert("hosts");
    if (Status s = CheckUnknown(root, known, "pod config"); !s.ok()) return s;
    if (root.contains("sauron")) {
      const json& j = root["sauron"];
      std::set<std::string> k;
      auto& c = cfg.sauron;
      Get(j, "api", &c.api, &k);
      Get(j, "pub", &c.pub, &k);
      Get(j, "db", &c.db, &k);
      Get(j, "public_key", &c.public_key, &k);
      Get(j, "heartbeat_ms", &c.heartbeat_ms, &k);
      Get(j, "zmtp_heartbeat_ms", &c.zmtp_heartbeat_ms, &k);
      Get(j, "lost_after_ms", &c.lost_after_ms, &k);
      Get(j, "disconnect_grace_ms", &c.disconnect_grace_ms, &k);
      Get(j, "beacon_port", &c.beacon_port, &k);
      Get(j, "beacon_ms", &c.beacon_ms, &k);
      // Unset: a third of the silence limit (3 beacons may go missing), so a
      // config that only shortens lost_after_ms stays valid.
      if (!j.contains("beacon_ms")) c.beacon_ms = std::max(1, c.lost_after_ms / 3);
      if (Status s = CheckUnknown(j, k, "sauron"); !s.ok()) return s;
    }
    if (root.contains("elrond")) {
      const json& j = root["elrond"];
      std::set<std::string> k;
      auto& c = cfg.elrond;
      Get(j, "endpoint", &c.endpoint, &k);
      Get(j, "public_key", &c.public_key, &k);
      Get(j, "bid_deadline_ms", &c.bid_deadline_ms, &k);
      Get(j, "max_bid_deadline_ms", &c.max_bid_deadline_ms, &k);
      Get(j, "ack_timeout_ms", &c.ack_timeout_ms, &k);
      Get(j, "batch_max", &c.batch_max, &k);
      Get(j, "sample_hosts", &c.sample_hosts, &k);
      Get(j, "offers_per_job", &c.offers_per_job, &k);
      Get(j, "retry_pending_ms", &c.retry_pending_ms, &k);
      Get(j, "strategy", &c.strategy, &k);
      if (Status s = CheckUnknown(j, k, "elrond"); !s.ok()) return s;
      if (c.strategy != "binpack" && c.strategy != "spread") {
        return Status::Invalid("elrond.strategy must be 'binpack' or 'spread', not '" + c.strategy + "'");
      }
    }
    if (root.contains("hosts")) {
      for (const json& h : root["hosts"]) {
        EnrolledHost e;
        std::set<std::string> k;
        Get(h, "id", &e.id, &k);
        Get(h, "public_key", &e.public_key, &k);
        Get(h, "labels", &e.labels, &k);
        if (Status s = CheckUnknown(h, k, "hosts[]"); !s.ok()) return s;
        if (e.id.empty()) return Status::Invalid("hosts[] entry without an id");
        cfg.hosts.push_back(std::move(e));
      }
    }
  } catch (const std::exception& e) {
    return Status::Invalid(std::string("pod config: ") + e.what());
  }
  if (cfg.sauron.beacon_ms <= 0 || cfg.sauron.beacon_ms * 2 > cfg.sauron.lost_after_ms) {
    return Status::Invalid("pod config: sauron.beacon_ms must be positive and at most half of lost_after_ms");
  }
  if (cfg.sauron.lost_after_ms <= 0 || cfg.sauron.heartbeat_ms <= 0 || cfg.elrond.bid_deadline_ms <= 0 ||
      cfg.elrond.ack_timeout_ms <= 0 || cfg.elrond.batch_max <= 0) {
    return Status::Invalid("pod config: timeouts and batch sizes must be positive");
  }
  return cfg;
}

Result<PodConfig> LoadPodConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("cannot read pod config " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string dir = std::filesystem::absolute(path).parent_path().string();
  return ParsePodConfig(ss.str(), dir);
}

}  // namespace rv
