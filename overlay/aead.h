// Aead: the per-environment packet cipher (contract).
//
// An environment uses one algorithm on every host, chosen once by sauron
// (ChooseAead): AES-256-GCM when every host has AES-NI (libsodium's
// crypto_aead_aes256gcm_is_available()), ChaCha20-Poly1305-IETF otherwise.
// A host that cannot run the environment's algorithm refuses the environment
// (Create fails) instead of silently picking another one, so both ends agree.
//
// The 12-byte nonce is sender_id (4, LE) || counter (8, LE). Keys are shared
// by all hosts of an environment, so the sender id keeps nonces of different
// hosts apart, and the counter starts at the wall clock in ns at overlayd start
// so a restarted sender never reuses a nonce under the same key.
//
// Seal/Open work in place on caller-owned buffers: no allocation per packet.
// An Aead is immutable after Create and may be used by several threads.
#pragma once

#include <sodium.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"

namespace rv::overlay {

enum class AeadKind : uint8_t { kAes256Gcm = 1, kChaCha20Poly1305 = 2 };

inline constexpr size_t kKeySize = 32;
inline constexpr size_t kTagSize = 16;
using Key = std::array<uint8_t, kKeySize>;

const char* AeadName(AeadKind k);
Result<AeadKind> ParseAead(const std::string& name);
// Local capability (initializes libsodium).
bool AesGcmAvailable();
// Pod-wide choice: AES-GCM only if every host that may run the env has AES-NI.
AeadKind ChooseAead(bool all_hosts_have_aesni);

class Aead {
 public:
  static Result<std::unique_ptr<Aead>> Create(AeadKind kind, const Key& key);
  ~Aead();
  Aead(const Aead&) = delete;
  Aead& operator=(const Aead&) = delete;

  AeadKind kind() const { return kind_; }
  // Encrypts buf[0..len) in place and appends the tag at buf[len..len+16).
  void Seal(uint8_t* buf, size_t len, const uint8_t* ad, size_t ad_len, uint32_t sender,
            uint64_t counter) const;
  // Opens buf[0..len) (ciphertext followed by tag) in place; false if forged.
  // On success the plaintext is buf[0..len-16).
  bool Open(uint8_t* buf, size_t len, const uint8_t* ad, size_t ad_len, uint32_t sender,
            uint64_t counter) const;

 private:
  explicit Aead(AeadKind k) : kind_(k) {}
  AeadKind kind_;
  Key key_{};
  // AES key schedule, expanded once (crypto_aead_aes256gcm_state needs 16-byte alignment).
  crypto_aead_aes256gcm_state* aes_ = nullptr;
};

}  // namespace rv::overlay
