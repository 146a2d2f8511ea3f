// CURVE key pairs (Z85 text) and their files.
//
// A key file holds two lines, "public=<40 chars>" and "secret=<40 chars>", and is
// written 0600. A public-key file (".pub") holds only the public line, so it can be
// handed to an operator for enrollment. Only fingerprints are ever logged.
#pragma once

#include <string>

#include "common/status.h"

namespace rv::transport {

struct CurveKeypair {
  std::string public_key;  // Z85, 40 chars
  std::string secret_key;  // Z85, 40 chars
};

CurveKeypair GenerateKeypair();
Status SaveKeypair(const std::string& path, const CurveKeypair& kp);  // also writes path + ".pub"
Result<CurveKeypair> LoadKeypair(const std::string& path);
// Accepts a .pub file, a key file, or a bare 40-char Z85 key in a file.
Result<std::string> LoadPublicKey(const std::string& path);
// Loads the pair at `path`, creating it first if the file does not exist.
Result<CurveKeypair> LoadOrCreateKeypair(const std::string& path);

bool IsValidZ85Key(const std::string& key);
// Short, non-secret identifier of a public key for logs: its first 8 chars.
std::string KeyFingerprint(const std::string& public_key);

}  // namespace rv::transport
