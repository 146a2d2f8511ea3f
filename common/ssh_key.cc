#include "common/ssh_key.h"

#include <sodium.h>

#include <set>

#include "common/utf8.h"

namespace rv {
namespace {

const std::set<std::string>& KeyTypes() {
  static const std::set<std::string> k = {
      "ssh-ed25519",         "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa",
      "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
  };
  return k;
}

}  // namespace

Result<SshPublicKey> SshPublicKey::FromParts(const std::string& type, const std::string& b64) {
  if (sodium_init() < 0) return Status::Internal("libsodium did not initialise");
  if (!KeyTypes().count(type)) {
    return Status::Invalid("unsupported SSH key type '" + PrintableAscii(type, 64) +
                           "' (use ssh-ed25519, ecdsa-sha2-nistp*, ssh-rsa or a security key)");
  }
  if (b64.empty() || b64.size() > kMaxBlobBytes * 4 / 3 + 4) return Status::Invalid("SSH key blob is empty or too long");
  // Checked here first: libsodium's constant-time decoder takes some bytes
  // above 0x7f for base64 letters (fuzz_ssh_key found one), and the blob is
  // printed back into sshd's authorized_keys line as it was given.
  for (char ch : b64) {
    unsigned char u = static_cast<unsigned char>(ch);
    if (!((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || u == '+' || u == '/' || u == '=')) {
      return Status::Invalid("SSH key blob is not valid base64");
    }
  }
  std::string blob(b64.size(), '\0');
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(blob.data()), blob.size(), b64.data(), b64.size(), nullptr,
                        &len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != b64.data() + b64.size()) {
    return Status::Invalid("SSH key blob is not valid base64");
  }
  blob.resize(len);
  // The blob starts with its own type as an SSH string (uint32 length, bytes).
  if (blob.size() < 4) return Status::Invalid("SSH key blob is truncated");
  uint32_t n = (uint8_t(blob[0]) << 24) | (uint8_t(blob[1]) << 16) | (uint8_t(blob[2]) << 8) | uint8_t(blob[3]);
  if (n > blob.size() - 4 || blob.compare(4, n, type) != 0 || n != type.size()) {
    return Status::Invalid("SSH key blob does not hold a " + type + " key");
  }
  if (blob.size() <= 4 + n) return Status::Invalid("SSH key blob holds no key material");
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, reinterpret_cast<const unsigned char*>(blob.data()), blob.size());
  char out[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES, sodium_base64_VARIANT_ORIGINAL_NO_PADDING)];
  sodium_bin2base64(out, sizeof out, h, sizeof h, sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
  SshPublicKey k;
  k.type = type;
  k.blob_base64 = b64;
  k.fingerprint = std::string("SHA256:") + out;
  return k;
}

Result<SshPublicKey> SshPublicKey::Parse(const std::string& text) {
  // Said first, whatever its shape: giving the private file is the usual slip.
  if (text.find("PRIVATE KEY") != std::string::npos) {
    return Status::Invalid("this is a private key: give the .pub file (ssh-keygen -y -f KEY prints its public line)");
  }
  // One line; a trailing newline (as in a .pub file) is fine.
  std::string line = text;
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  if (line.find('\n') != std::string::npos) return Status::Invalid("expected one SSH public key line, got several lines");
  if (line.size() > kMaxBlobBytes * 2) return Status::Invalid("SSH public key line is too long");
  size_t a = line.find_first_not_of(" \t");
  if (a == std::string::npos) return Status::Invalid("SSH public key is empty");
  size_t b = line.find_first_of(" \t", a);
  std::string type = line.substr(a, b == std::string::npos ? std::string::npos : b - a);
  if (!KeyTypes().count(type)) {
    // Options (command=..., from=...) come before a key type; '=' alone may
    // be a base64 blob's padding.
    bool known_later = false;
    for (const auto& t : KeyTypes()) known_later |= line.find(" " + t + " ") != std::string::npos;
    if (known_later && (type.find('=') != std::string::npos || type.find(',') != std::string::npos)) {
      return Status::Invalid("give the key's .pub line, not an authorized_keys line with options");
    }
    if (type.rfind("-----", 0) == 0) {
      return Status::Invalid("this is not a public key (give the .pub file, never the private key)");
    }
  }
  if (b == std::string::npos) return Status::Invalid("SSH public key line has no key blob");
  size_t c = line.find_first_not_of(" \t", b);
  if (c == std::string::npos) return Status::Invalid("SSH public key line has no key blob");
  size_t d = line.find_first_of(" \t", c);
  std::string blob = line.substr(c, d == std::string::npos ? std::string::npos : d - c);
  auto k = FromParts(type, blob);
  if (!k.ok()) return k.status();
  if (d != std::string::npos) {
    size_t e = line.find_first_not_of(" \t", d);
    if (e != std::string::npos) k->comment = PrintableAscii(line.substr(e), kMaxCommentBytes);
  }
  return k;
}

}  // namespace rv
