// SshPublicKey: one OpenSSH public key line ("TYPE BASE64 [COMMENT]", the
// content of an id_*.pub file), parsed and checked.
//
// Contract:
//  * Accepts only the key types OpenSSH 9 offers for user keys (ed25519,
//    ecdsa, rsa, and their security-key forms); the base64 blob must decode
//    and name the same type inside (so a blob cannot pose as another type).
//  * Refuses option prefixes (command=..., from=...) and anything that is not
//    exactly one key: the caller gets a message naming what is wrong.
//  * fingerprint is OpenSSH's: "SHA256:" + unpadded base64 of SHA-256(blob),
//    the same string `ssh-keygen -lf` prints.
//  * The comment is kept printable (other bytes become '?') and bounded.
//  * Pure, thread-safe (libsodium must be initialised; rv_common's users do).
#pragma once

#include <string>

#include "common/status.h"

namespace rv {

struct SshPublicKey {
  static constexpr size_t kMaxBlobBytes = 16 * 1024;
  static constexpr size_t kMaxCommentBytes = 256;

  std::string type;         // e.g. "ssh-ed25519"
  std::string blob_base64;  // as in the .pub file
  std::string comment;
  std::string fingerprint;  // "SHA256:..."

  static Result<SshPublicKey> Parse(const std::string& line);
  // Checks a (type, base64 blob) pair as sshd hands it to AuthorizedKeysCommand.
  static Result<SshPublicKey> FromParts(const std::string& type, const std::string& blob_base64);
  std::string Line() const { return type + " " + blob_base64; }
};

}  // namespace rv
