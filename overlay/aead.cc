#include "overlay/aead.h"

#include <cstdlib>
#include <cstring>

namespace rv::overlay {
namespace {

void MakeNonce(uint8_t nonce[12], uint32_t sender, uint64_t counter) {
  for (int i = 0; i < 4; i++) nonce[i] = uint8_t(sender >> (8 * i));
  for (int i = 0; i < 8; i++) nonce[4 + i] = uint8_t(counter >> (8 * i));
}

bool SodiumReady() {
  static const bool ok = sodium_init() >= 0;
  return ok;
}

}  // namespace

const char* AeadName(AeadKind k) {
  return k == AeadKind::kAes256Gcm ? "aes256gcm" : "chacha20poly1305";
}

Result<AeadKind> ParseAead(const std::string& name) {
  if (name == "aes256gcm" || name == "aes-256-gcm") return AeadKind::kAes256Gcm;
  if (name == "chacha20poly1305" || name == "chacha20-poly1305") return AeadKind::kChaCha20Poly1305;
  return Status::Invalid("unknown aead '" + name + "' (want aes256gcm or chacha20poly1305)");
}

bool AesGcmAvailable() { return SodiumReady() && crypto_aead_aes256gcm_is_available() == 1; }

AeadKind ChooseAead(bool all_hosts_have_aesni) {
  return all_hosts_have_aesni ? AeadKind::kAes256Gcm : AeadKind::kChaCha20Poly1305;
}

Result<std::unique_ptr<Aead>> Aead::Create(AeadKind kind, const Key& key) {
  if (!SodiumReady()) return Status::Internal("libsodium failed to initialize");
  std::unique_ptr<Aead> a(new Aead(kind));
  a->key_ = key;
  if (kind == AeadKind::kAes256Gcm) {
    if (!AesGcmAvailable())
      return Status::Unavailable("environment uses aes256gcm but this CPU has no AES-NI");
    void* mem = std::aligned_alloc(64, (sizeof(crypto_aead_aes256gcm_state) + 63) / 64 * 64);
    if (!mem) return Status::Internal("out of memory");
    a->aes_ = static_cast<crypto_aead_aes256gcm_state*>(mem);
    crypto_aead_aes256gcm_beforenm(a->aes_, key.data());
  } else if (kind != AeadKind::kChaCha20Poly1305) {
    return Status::Invalid("unknown aead");
  }
  return a;
}

Aead::~Aead() {
  sodium_memzero(key_.data(), key_.size());
  if (aes_) {
    sodium_memzero(aes_, sizeof(*aes_));
    std::free(aes_);
  }
}

void Aead::Seal(uint8_t* buf, size_t len, const uint8_t* ad, size_t ad_len, uint32_t sender,
                uint64_t counter) const {
  uint8_t nonce[12];
  MakeNonce(nonce, sender, counter);
  unsigned long long maclen = 0;
  if (aes_) {
    crypto_aead_aes256gcm_encrypt_detached_afternm(buf, buf + len, &maclen, buf, len, ad, ad_len,
                                                   nullptr, nonce, aes_);
  } else {
    crypto_aead_chacha20poly1305_ietf_encrypt_detached(buf, buf + len, &maclen, buf, len, ad,
                                                       ad_len, nullptr, nonce, key_.data());
  }
}

bool Aead::Open(uint8_t* buf, size_t len, const uint8_t* ad, size_t ad_len, uint32_t sender,
                uint64_t counter) const {
  if (len < kTagSize) return false;
  uint8_t nonce[12];
  MakeNonce(nonce, sender, counter);
  size_t clen = len - kTagSize;
  if (aes_) {
    return crypto_aead_aes256gcm_decrypt_detached_afternm(buf, nullptr, buf, clen, buf + clen, ad,
                                                          ad_len, nonce, aes_) == 0;
  }
  return crypto_aead_chacha20poly1305_ietf_decrypt_detached(buf, nullptr, buf, clen, buf + clen, ad,
                                                            ad_len, nonce, key_.data()) == 0;
}

}  // namespace rv::overlay
