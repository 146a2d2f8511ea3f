// Sha256: streaming SHA-256 (libsodium's crypto_hash_sha256) with OCI-style
// digest strings ("sha256:<64 hex>"). Used to verify every blob pulled from or
// pushed to the registry; a digest is the only name a blob has.
#pragma once

#include <sodium.h>

#include <string>
#include <string_view>

#include "common/status.h"

namespace rv::crypto {

class Sha256 {
 public:
  Sha256();
  void Update(const void* data, size_t n);
  void Update(std::string_view s) { Update(s.data(), s.size()); }
  std::string HexDigest();     // finalizes; call once
  std::string OciDigest() { return "sha256:" + HexDigest(); }

 private:
  crypto_hash_sha256_state st_;
};

std::string Sha256Hex(std::string_view data);
std::string OciDigestOf(std::string_view data);  // "sha256:" + hex
Result<std::string> Sha256File(const std::string& path);  // OCI digest of a file
// True for "sha256:" followed by exactly 64 lowercase hex chars; anything else
// (other algorithms, path tricks like "sha256:../x") is refused before it can
// become a file name or URL.
bool IsValidDigest(std::string_view digest);

}  // namespace rv::crypto
