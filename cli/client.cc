#include "cli/client.h"

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
  if (!c->cfg_.sauron.public_key.empty()) {
    if (!transport::IsValidZ85Key(c->cfg_.sauron.public_key)) return Status::Invalid("sauron.public_key is not a Z85 key");
    c->sauron_key_ = c->cfg_.sauron.public_key;
  } else {
    auto k = transport::LoadPublicKey(c->cfg_.KeyPath("sauron") + ".pub");
    if (!k.ok()) k = transport::LoadPublicKey(c->cfg_.KeyPath("sauron"));
    if (!k.ok()) return Status::NotFound("cannot load sauron's public key: " + k.status().message());
    c->sauron_key_ = *k;
  }
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

Result<msg::Listing> Client::List(const std::string& what, int limit, int64_t after_seq) {
  msg::ListRequest req;
  req.what = what;
  req.limit = limit;
  req.after_seq = after_seq;
  msg::Listing out;
  Status s = Call(req, &out);
  if (!s.ok()) return s;
  return out;
}

}  // namespace rv::cli
