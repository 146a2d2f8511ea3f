#include "sauron/api_table.h"

#include <algorithm>
#include <cstdlib>

#include "common/event_kinds.h"
#include "common/clock.h"
#include "common/utf8.h"

namespace rv::sauron {
namespace {

constexpr int64_t kLogEveryMs = 1000;
constexpr int64_t kSecurityEventEveryMs = 1000;

}  // namespace

std::string Clean(const std::string& s, size_t max) { return PrintableAscii(s, max); }

bool ApiAudit::LogAllowed(const std::string& key) {
  int64_t now = MonotonicMs();
  auto it = last_log_ms_.find(key);
  if (it != last_log_ms_.end() && now - it->second < kLogEveryMs) {
    ++suppressed_[key];
    return false;
  }
  if (last_log_ms_.size() > 4096) last_log_ms_.clear();  // bounded, whatever peers do
  last_log_ms_[key] = now;
  if (auto s = suppressed_.find(key); s != suppressed_.end()) {
    spdlog::warn("({} similar messages suppressed for {})", s->second, key);
    suppressed_.erase(s);
  }
  return true;
}

void ApiAudit::Refuse(const std::string& user, const std::string& what) {
  counters_->Add("api.refused");
  if (LogAllowed("refused:" + user)) spdlog::warn("refused request from '{}': {}", Clean(user), what);
  int64_t now = MonotonicMs();
  auto it = last_security_ms_.find(user);
  if (it != last_security_ms_.end() && now - it->second < kSecurityEventEveryMs) return;
  if (last_security_ms_.size() > 4096) last_security_ms_.clear();
  last_security_ms_[user] = now;
  // The event names the host when the caller is (or claims to be) one.
  std::string host = !user.empty() && !PodKeyRole(user) ? user : "";
  Status s = store_->AppendEvent(event_kind::kSecurityRefused, host, "", 0, Clean(user) + ": " + what, WallMs());
  if (!s.ok()) spdlog::error("cannot record security event: {}", s.message());
}

Status ApiCall::Deny(const std::string& what) const {
  audit.Refuse(user, what);
  return Status::Denied(what);
}

Status ApiCall::CheckHost(const std::string& host_id) const {
  if (host_id != user) return Deny("host '" + Clean(user) + "' sent " + type + " as host '" + Clean(host_id) + "'");
  deps.liveness->OnMessage(user, MonotonicMs());
  return Status::Ok();
}

void RequestTable::Add(Row row) {
  std::string type = row.type;
  if (!rows_.emplace(type, std::move(row)).second) {
    spdlog::critical("two handlers for request type '{}'", type);
    std::abort();
  }
}

const RequestTable::Row* RequestTable::Find(std::string_view type) const {
  auto it = rows_.find(std::string(type));
  return it == rows_.end() ? nullptr : &it->second;
}

std::vector<const RequestTable::Row*> RequestTable::rows() const {
  std::vector<const Row*> out;
  for (const auto& [type, row] : rows_) out.push_back(&row);
  std::sort(out.begin(), out.end(), [](const Row* a, const Row* b) { return a->type < b->type; });
  return out;
}

void RequestTable::NoteMalformed(ApiCall& call, const std::string& type, const Status& s) {
  call.deps.counters->Add("api.malformed");
  if (call.audit.LogAllowed("malformed:" + call.user)) {
    spdlog::warn("malformed {} from '{}': {}", Clean(type), Clean(call.user), s.message());
  }
}

Result<std::string> RequestTable::Dispatch(ApiCall& call, const msg::Envelope& env) const {
  const Row* row = Find(env.type);
  if (row == nullptr) {
    call.deps.counters->Add("api.unknown_type");
    if (call.audit.LogAllowed("unknown:" + call.user)) {
      spdlog::warn("unknown message type '{}' from '{}'", Clean(env.type), Clean(call.user));
    }
    return Status::Invalid("unknown message type '" + Clean(env.type) + "' for sauron");
  }
  if (!row->roles.Has(call.role)) {
    if (call.role == Role::kNone && row->roles.Has(Role::kHost) && !call.user.empty()) {
      return call.Deny("'" + Clean(call.user) + "' is not an enrolled host");
    }
    return call.Deny(env.type + " is for " + row->roles.Names() + " only, not " + std::string(RoleName(call.role)));
  }
  if (row->precondition) {
    if (Status s = row->precondition(call.deps); !s.ok()) return s;
  }
  return row->handler(call, env);
}

}  // namespace rv::sauron
