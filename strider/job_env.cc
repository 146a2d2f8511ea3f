#include "strider/job_env.h"

namespace rv::strider {

Result<crypto::SecretEnv> OpenJobEnv(const transport::CurveKeypair& host_key, const std::string& sealed) {
  if (sealed.empty()) return crypto::SecretEnv();
  auto pk = crypto::DecodeZ85Key(host_key.public_key);
  auto sk = crypto::DecodeZ85Key(host_key.secret_key);
  if (!pk.ok() || !sk.ok()) return Status::Invalid("this host's CURVE key is not a Z85 key pair");
  crypto::BoxKeyPair kp{std::move(*pk), std::move(*sk)};
  auto env = crypto::OpenSealedEnv(kp, sealed);
  crypto::Wipe(kp.secret_key);
  return env;
}

}  // namespace rv::strider
