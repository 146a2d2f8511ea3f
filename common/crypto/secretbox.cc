#include "common/crypto/secretbox.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rv::crypto {

SecretBoxKey SecretBoxKey::Generate() {
  if (sodium_init() < 0) abort();
  SecretBoxKey k;
  k.key_.resize(crypto_secretbox_KEYBYTES);
  crypto_secretbox_keygen(reinterpret_cast<unsigned char*>(k.key_.data()));
  return k;
}

Result<SecretBoxKey> SecretBoxKey::FromBytes(const std::string& raw) {
  if (sodium_init() < 0) abort();
  if (raw.size() != crypto_secretbox_KEYBYTES) return Status::Invalid("secretbox key must be 32 bytes");
  SecretBoxKey k;
  k.key_ = raw;
  return k;
}

SecretBoxKey::~SecretBoxKey() {
  if (!key_.empty()) sodium_memzero(key_.data(), key_.size());
}

Result<SecretBoxKey> SecretBoxKey::LoadOrCreate(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 && errno == ENOENT) {
    SecretBoxKey k = Generate();
    int w = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (w < 0) return Status::Io("create " + path + ": " + strerror(errno));
    ssize_t n = write(w, k.key_.data(), k.key_.size());
    bool ok = n == static_cast<ssize_t>(k.key_.size()) && fsync(w) == 0;
    close(w);
    if (!ok) {
      unlink(path.c_str());
      return Status::Io("write " + path + " failed");
    }
    return k;
  }
  if (fd < 0) return Status::Io("open " + path + ": " + strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return Status::Invalid(path + " is not a regular file");
  }
  if (st.st_mode & 077) {
    close(fd);
    return Status::Denied(path + " is readable by group/others; chmod 600 it");
  }
  std::string raw(64, '\0');
  ssize_t n = read(fd, raw.data(), raw.size());
  close(fd);
  if (n != crypto_secretbox_KEYBYTES) {
    sodium_memzero(raw.data(), raw.size());
    return Status::Invalid(path + ": key file must hold exactly 32 bytes");
  }
  raw.resize(n);
  auto k = FromBytes(raw);
  sodium_memzero(raw.data(), raw.size());
  return k;
}

std::string SecretBoxKey::Encrypt(const std::string& plaintext) const {
  std::string out(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plaintext.size(), '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(out.data());
  randombytes_buf(nonce, crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(nonce + crypto_secretbox_NONCEBYTES,
                        reinterpret_cast<const unsigned char*>(plaintext.data()), plaintext.size(), nonce,
                        reinterpret_cast<const unsigned char*>(key_.data()));
  return out;
}

Result<std::string> SecretBoxKey::Decrypt(const std::string& ct) const {
  if (ct.size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
    return Status::Denied("ciphertext too short");
  const auto* nonce = reinterpret_cast<const unsigned char*>(ct.data());
  std::string out(ct.size() - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(out.data()), nonce + crypto_secretbox_NONCEBYTES,
                                 ct.size() - crypto_secretbox_NONCEBYTES, nonce,
                                 reinterpret_cast<const unsigned char*>(key_.data())) != 0)
    return Status::Denied("ciphertext does not authenticate (wrong key or tampered)");
  return out;
}

}  // namespace rv::crypto
