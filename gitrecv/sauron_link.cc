#include "gitrecv/sauron_link.h"

#include <unistd.h>

#include "common/transport/keys.h"

namespace rv::gitrecv {

std::string ClientKeyFileFor(const PodConfig& pod) {
  std::string own = pod.KeyPath("gitrecv");
  if (access(own.c_str(), R_OK) == 0) return own;
  return pod.KeyPath("admin");
}

Result<std::unique_ptr<SauronLink>> SauronLink::Open(const GitrecvConfig& cfg, int timeout_ms) {
  auto key = transport::LoadKeypair(cfg.client_key);
  if (!key.ok()) return Status::Denied("cannot load gitrecv's sauron key: " + key.status().message());
  if (!transport::IsValidZ85Key(cfg.sauron_public_key)) return Status::Invalid("gitrecv config: bad sauron_public_key");
  std::unique_ptr<SauronLink> l(new SauronLink());
  l->api_ = cfg.sauron_api;
  l->timeout_ms_ = timeout_ms;
  try {
    l->rpc_ = std::make_unique<transport::RpcClient>(l->ctx_, cfg.sauron_api, *key, cfg.sauron_public_key);
  } catch (const zmq::error_t& e) {
    return Status::Invalid("bad sauron endpoint '" + cfg.sauron_api + "': " + e.what());
  }
  return l;
}

Status SauronLink::Explain(const Status& s) const {
  if (s.code() == Status::Code::kUnavailable) return Status::Unavailable("cannot reach sauron at " + api_ + ": " + s.message());
  return s;
}

Result<msg::KeyOwner> SauronLink::LookupKey(const std::string& type, const std::string& blob_base64) {
  msg::KeyOwner out;
  Status s = rpc_->Call(msg::KeyLookup{type, blob_base64}, &out, std::chrono::milliseconds(timeout_ms_));
  if (!s.ok()) return Explain(s);
  return out;
}

Result<msg::GitAccess> SauronLink::Authorize(const std::string& user, const std::string& app, bool write) {
  msg::GitAccess out;
  Status s = rpc_->Call(msg::GitAuthorize{user, app, write}, &out, std::chrono::milliseconds(timeout_ms_));
  if (!s.ok()) return Explain(s);
  return out;
}

}  // namespace rv::gitrecv
