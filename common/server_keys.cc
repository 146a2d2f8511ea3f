#include "common/server_keys.h"

#include "common/transport/keys.h"

namespace rv {
namespace {

Result<std::string> ServerPublicKey(const PodConfig& cfg, const std::string& inline_key, const std::string& name) {
  if (!inline_key.empty()) {
    if (!transport::IsValidZ85Key(inline_key)) return Status::Invalid(name + ".public_key is not a Z85 CURVE key");
    return inline_key;
  }
  auto k = transport::LoadPublicKey(cfg.KeyPath(name) + ".pub");
  if (k.ok()) return k;
  auto from_secret = transport::LoadPublicKey(cfg.KeyPath(name));
  if (from_secret.ok()) return from_secret;
  return Status::FromCode(k.status().code(), "cannot load " + name + "'s public key: " + k.status().message());
}

}  // namespace

Result<std::string> SauronPublicKey(const PodConfig& cfg) { return ServerPublicKey(cfg, cfg.sauron.public_key, "sauron"); }

Result<std::string> ElrondPublicKey(const PodConfig& cfg) { return ServerPublicKey(cfg, cfg.elrond.public_key, "elrond"); }

}  // namespace rv
