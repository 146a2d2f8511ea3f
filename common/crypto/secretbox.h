// At-rest encryption of small values (an environment's secrets in sauron's
// database) with libsodium secretbox (XSalsa20-Poly1305) under a 32-byte key
// kept in a key file (0600, created on first use, never logged).
//
// Ciphertext layout: 24-byte random nonce || box. Decrypt refuses anything
// truncated or tampered with (Status::Denied) rather than returning garbage.
#pragma once

#include <string>

#include "common/status.h"

namespace rv::crypto {

class SecretBoxKey {
 public:
  static SecretBoxKey Generate();
  static Result<SecretBoxKey> FromBytes(const std::string& raw);  // 32 bytes
  // Reads the key at `path`; creates it (0600, O_EXCL) if missing. A key file
  // with the wrong size or readable by group/others is refused.
  static Result<SecretBoxKey> LoadOrCreate(const std::string& path);
  ~SecretBoxKey();
  SecretBoxKey(const SecretBoxKey&) = default;
  SecretBoxKey& operator=(const SecretBoxKey&) = default;

  std::string Encrypt(const std::string& plaintext) const;
  Result<std::string> Decrypt(const std::string& ciphertext) const;

 private:
  SecretBoxKey() = default;
  std::string key_;
};

}  // namespace rv::crypto
