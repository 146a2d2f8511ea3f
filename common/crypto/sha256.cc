#include "common/crypto/sha256.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rv::crypto {

namespace {
std::string ToHex(const unsigned char* p, size_t n) {
  static const char* kHex = "0123456789abcdef";
  std::string s(n * 2, '0');
  for (size_t i = 0; i < n; i++) {
    s[2 * i] = kHex[p[i] >> 4];
    s[2 * i + 1] = kHex[p[i] & 15];
  }
  return s;
}
}  // namespace

Sha256::Sha256() {
  if (sodium_init() < 0) abort();  // libsodium unusable: nothing safe to do
  crypto_hash_sha256_init(&st_);
}

void Sha256::Update(const void* data, size_t n) {
  crypto_hash_sha256_update(&st_, static_cast<const unsigned char*>(data), n);
}

std::string Sha256::HexDigest() {
  unsigned char out[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&st_, out);
  return ToHex(out, sizeof out);
}

std::string Sha256Hex(std::string_view data) {
  Sha256 h;
  h.Update(data);
  return h.HexDigest();
}

std::string OciDigestOf(std::string_view data) { return "sha256:" + Sha256Hex(data); }

Result<std::string> Sha256File(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Io("open " + path + ": " + strerror(errno));
  Sha256 h;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      close(fd);
      return Status::Io("read " + path + ": " + strerror(e));
    }
    if (n == 0) break;
    h.Update(buf, static_cast<size_t>(n));
  }
  close(fd);
  return h.OciDigest();
}

bool IsValidDigest(std::string_view d) {
  if (d.size() != 71 || d.substr(0, 7) != "sha256:") return false;
  for (char c : d.substr(7))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace rv::crypto
