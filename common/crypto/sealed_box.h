// Sealed boxes: anonymous public-key encryption (libsodium crypto_box_seal,
// X25519 + XSalsa20-Poly1305) used to deliver an environment's secrets to the
// one host that won a job. Only the holder of the host's secret key can open
// the box; the sender (elrond/sauron) keeps no key of its own.
//
// A host's X25519 key pair is its CURVE key pair (ZeroMQ CURVE is Curve25519), so
// the public key sauron already holds for every enrolled host (Z85 text) is the
// one secrets are sealed to; *Z85 helpers decode it.
//
// The secret env travels as a msgpack map<string,string> inside the box.
// Opened plaintext is returned in a SecretEnv whose destructor wipes it.
#pragma once

#include <map>
#include <string>

#include "common/status.h"

namespace rv::crypto {

struct BoxKeyPair {
  std::string public_key;  // 32 raw bytes
  std::string secret_key;  // 32 raw bytes
};

BoxKeyPair GenerateBoxKeyPair();
// Decodes a 40-char Z85 key (as in keys/<name>.key) into 32 raw bytes.
Result<std::string> DecodeZ85Key(const std::string& z85);

Result<std::string> Seal(const std::string& recipient_pk, const std::string& plaintext);
Result<std::string> OpenSealed(const BoxKeyPair& kp, const std::string& sealed);

// A map of secret environment variables that wipes its values when destroyed.
class SecretEnv {
 public:
  SecretEnv() = default;
  explicit SecretEnv(std::map<std::string, std::string> v) : vars_(std::move(v)) {}
  SecretEnv(SecretEnv&&) = default;
  SecretEnv& operator=(SecretEnv&&) = default;
  SecretEnv(const SecretEnv&) = default;
  SecretEnv& operator=(const SecretEnv&) = default;
  ~SecretEnv();
  const std::map<std::string, std::string>& vars() const { return vars_; }
  std::map<std::string, std::string>& mutable_vars() { return vars_; }

 private:
  std::map<std::string, std::string> vars_;
};

Result<std::string> SealEnv(const std::string& recipient_pk, const std::map<std::string, std::string>& env);
Result<SecretEnv> OpenSealedEnv(const BoxKeyPair& kp, const std::string& sealed);

// Wipes a string's bytes (sodium_memzero) before it is freed.
void Wipe(std::string& s);

}  // namespace rv::crypto
