#include "strider/proxy_source.h"

#include "common/clock.h"
#include "common/crypto/sealed_box.h"
#include "common/msg/proxy.h"

namespace rv::strider {

transport::RpcClient& SauronProxySource::Client() {
  if (!client_) client_ = std::make_unique<transport::RpcClient>(ctx_, api_, key_, server_key_);
  return *client_;
}

// No answer: the next call makes a fresh socket, so a refused CURVE handshake
// (libzmq never retries one) or a lost sauron heals by itself.
Status SauronProxySource::Failed(const Status& s) {
  if (s.code() == Status::Code::kUnavailable) client_.reset();
  return s;
}

Result<msg::ProxyRoutes> SauronProxySource::Routes(const std::string& env) {
  std::lock_guard<std::mutex> l(mu_);
  msg::ProxyRoutes out;
  Status s = Client().Call(msg::ProxyRoutesRequest{host_id_, env}, &out, std::chrono::milliseconds(2000));
  if (!s.ok()) return Failed(s);
  if (out.env != env) return Status::Invalid("sauron answered the routes of another environment");
  return out;
}

Result<std::vector<ProxyCert>> SauronProxySource::Certs(const std::string& env) {
  std::lock_guard<std::mutex> l(mu_);
  const int64_t now = MonotonicMs();
  certs_.Expire(now);
  msg::ProxyCerts got;
  Status s = Client().Call(msg::ProxyCertsRequest{host_id_, env, certs_.Known(env)}, &got,
                           std::chrono::milliseconds(2000));
  if (!s.ok()) return Failed(s);
  if (got.env != env) return Status::Invalid("sauron answered the certificates of another environment");
  if (got.unchanged) {
    if (auto held = certs_.Reuse(env, got.version, now)) return std::move(*held);
    certs_.Forget(env);
    return Status::Invalid("sauron says the certificates are unchanged, but this host holds no such set");
  }
  auto pk = crypto::DecodeZ85Key(key_.public_key);
  auto sk = crypto::DecodeZ85Key(key_.secret_key);
  if (!pk.ok() || !sk.ok()) return Status::Invalid("this host's CURVE key is not a Z85 key pair");
  crypto::BoxKeyPair kp{std::move(*pk), std::move(*sk)};
  std::vector<ProxyCert> out;
  bool complete = true;
  for (auto& e : got.entries) {
    auto key = crypto::OpenSealed(kp, e.key_sealed);
    if (!key.ok()) {
      complete = false;  // not sealed to us: that name is left out, and the set is not reused
      continue;
    }
    out.push_back(ProxyCert{e.name, e.app, e.cert_pem, std::move(*key)});
  }
  crypto::Wipe(kp.secret_key);
  certs_.Keep(env, got.version, out, complete, now);
  return out;
}

}  // namespace rv::strider
