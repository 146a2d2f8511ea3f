#include "cli/client.h"

#include "common/server_keys.h"

namespace rv::cli {

Result<std::unique_ptr<Client>> Client::Open(const std::string& pod_path, int timeout_ms) {
  auto cfg = LoadPodConfig(pod_path);
  if (!cfg.ok()) return cfg.status();
  std::unique_ptr<Client> c(new Client());
  c->cfg_ = *cfg;
  c->timeout_ms_ = timeout_ms;
  auto key = transport::LoadKeypair(c->cfg_.KeyPath("admin"));
  if (!key.ok()) return Status::Denied("cannot load the admin key: " + key.status().message());
  c->key_ = *key;
  auto sauron_key = SauronPublicKey(c->cfg_);
  if (!sauron_key.ok()) {
    if (sauron_key.status().code() == Status::Code::kInvalid) return sauron_key.status();
    return Status::NotFound(sauron_key.status().message());
  }
  c->sauron_key_ = *sauron_key;
  try {
    c->rpc_ = std::make_unique<transport::RpcClient>(c->ctx_, c->cfg_.sauron.api, c->key_, c->sauron_key_);
  } catch (const zmq::error_t& e) {
    return Status::Invalid("bad sauron endpoint '" + c->cfg_.sauron.api + "': " + e.what());
  }
  return c;
}

Status Client::Explain(const Status& s) const {
  if (s.code() == Status::Code::kUnavailable) {
    return Status::Unavailable("cannot reach sauron at " + cfg_.sauron.api + ": " + s.message() +
                               " (is it running? is the admin key enrolled?)");
  }
  return s;
}

Result<msg::Listing> Client::List(const std::string& what, int limit, int64_t after_seq, bool newest) {
  msg::ListRequest req;
  req.what = what;
  req.limit = limit;
  req.after_seq = after_seq;
  req.newest = newest;
  msg::Listing out;
  Status s = Call(req, &out);
  if (!s.ok()) return s;
  return out;
}

}  // namespace rv::cli
