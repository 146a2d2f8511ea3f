// libFuzzer target: a hostile `rv keys:add` line through SshPublicKey::Parse,
// and a hostile (type, blob) pair as sshd hands it to the AuthorizedKeysCommand.
// Whatever is accepted must print back as exactly one safe authorized_keys
// line: a known type, a base64 blob that holds that type, a printable bounded
// comment, and the same fingerprint when read again. Whatever is refused says
// why in one printable line (it reaches a terminal and the logs).
#include <sodium.h>

#include <cstdlib>
#include <cstring>
#include <set>
#include <string>

#include "common/ssh_key.h"

namespace {

const char* const kTypes[] = {"ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa", "sk-ssh-ed25519@openssh.com",
                              "ssh-dss", "ssh-ed25519 x"};

bool Printable(const std::string& s) {
  for (unsigned char c : s)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

void CheckRefusal(const rv::Status& s) {
  if (s.message().empty() || !Printable(s.message())) abort();
}

void CheckKey(const rv::SshPublicKey& k) {
  static const std::set<std::string> types = {"ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
                                              "ecdsa-sha2-nistp521", "ssh-rsa", "sk-ssh-ed25519@openssh.com",
                                              "sk-ecdsa-sha2-nistp256@openssh.com"};
  if (!types.count(k.type)) abort();
  if (k.blob_base64.empty()) abort();
  for (char c : k.blob_base64)
    if (!isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '/' && c != '=') abort();
  if (k.comment.size() > rv::SshPublicKey::kMaxCommentBytes || !Printable(k.comment)) abort();
  if (k.fingerprint.size() != 7 + 43 || k.fingerprint.rfind("SHA256:", 0) != 0) abort();
  // The line the AuthorizedKeysCommand prints reads back as the same key.
  auto again = rv::SshPublicKey::Parse(k.Line());
  if (!again.ok() || again->fingerprint != k.fingerprint || again->type != k.type) abort();
  auto parts = rv::SshPublicKey::FromParts(k.type, k.blob_base64);
  if (!parts.ok() || parts->fingerprint != k.fingerprint) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (sodium_init() < 0) abort();
  if (size == 0) return 0;
  std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string line;
  if (data[0] & 1) {
    // Mostly well-formed: TYPE base64(string(TYPE2) + material) COMMENT, so
    // the fuzzer reaches the blob checks, not only the base64 decoder.
    std::string type = kTypes[(data[0] >> 1) % 6];
    std::string inner = kTypes[(data[0] >> 4) % 6];
    size_t cut = rest.find('\x01');
    std::string material = rest.substr(0, cut), comment = cut == std::string::npos ? "" : rest.substr(cut + 1);
    std::string blob;
    uint32_t n = static_cast<uint32_t>(inner.size());
    blob += char(n >> 24), blob += char(n >> 16), blob += char(n >> 8), blob += char(n);
    blob += inner + material;
    std::string b64(sodium_base64_ENCODED_LEN(blob.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(b64.data(), b64.size(), reinterpret_cast<const unsigned char*>(blob.data()), blob.size(),
                      sodium_base64_VARIANT_ORIGINAL);
    b64.resize(strlen(b64.c_str()));
    line = type + " " + b64 + (comment.empty() ? "" : " " + comment);
    auto p = rv::SshPublicKey::FromParts(type, b64);
    if (p.ok()) CheckKey(*p); else CheckRefusal(p.status());
  } else {
    line = rest;
  }
  auto k = rv::SshPublicKey::Parse(line);
  if (k.ok()) CheckKey(*k); else CheckRefusal(k.status());
  return 0;
}
