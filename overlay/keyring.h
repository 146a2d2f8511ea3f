// Environment keys: creation and sealed delivery (sauron side) and the host's
// keyring (overlayd side). Contract:
//
//  * sauron creates one key per (environment, epoch) with NewEnvKey and never
//    stores or sends it in the clear: SealEnvKey seals it to one host's X25519
//    public key (crypto_box_seal). A host's X25519 key pair is its CURVE key
//    pair, so the key sauron enrolled a host with is the one keys are sealed to.
//  * Only hosts that run a container of the environment get its keys; the
//    sealed blob names env and epoch inside the box, so a blob cannot be
//    replayed as another environment's key.
//  * Keyring (in overlayd) holds at most two epochs per environment, the newest
//    and the one before, so packets sealed under the previous epoch still open
//    while every host moves to the new one (established TCP survives a
//    rotation). Forget/RetainOnly wipe the keys of environments the host no
//    longer runs. Keys are wiped from memory when dropped.
//
// Rotation protocol (what sauron drives): (1) deliver epoch e+1 to every host of
// the env with send_epoch still e; (2) once all have it, set send_epoch = e+1;
// (3) later drop epoch e. Hosts then accept {e, e+1} throughout.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "overlay/aead.h"

namespace rv::overlay {

struct EnvKey {
  uint32_t env_id = 0;
  uint32_t epoch = 0;
  AeadKind aead = AeadKind::kAes256Gcm;
  Key key{};
};

// A fresh random key (libsodium's CSPRNG).
EnvKey NewEnvKey(uint32_t env_id, uint32_t epoch, AeadKind aead);

// host_public_key: 32 raw bytes. Returns the sealed blob (binary).
Result<std::string> SealEnvKey(const EnvKey& key, const std::string& host_public_key);
// Opens a blob sealed to this host. Refuses tampered, truncated or foreign blobs.
Result<EnvKey> OpenEnvKey(const std::string& sealed, const std::string& host_public_key,
                          const std::string& host_secret_key);

// X25519 key pair as 32 raw bytes each, from a CURVE key file (Z85) or fresh.
struct HostKeyPair {
  std::string public_key, secret_key;
};
HostKeyPair NewHostKeyPair();
Result<std::string> Z85DecodeKey(const std::string& z85);  // 40 chars -> 32 bytes
Result<HostKeyPair> LoadHostKeyPair(const std::string& curve_key_file);

std::string ToHex(const std::string& bytes);
Result<std::string> FromHex(const std::string& hex);

class Keyring {
 public:
  static constexpr size_t kMaxEpochs = 2;

  Keyring() = default;
  ~Keyring();
  Keyring(const Keyring&) = delete;
  Keyring& operator=(const Keyring&) = delete;

  // Adds (or replaces) a key; the oldest epoch beyond kMaxEpochs is wiped.
  // Each epoch carries its own AEAD (a rotation may switch the env's).
  Status Install(const EnvKey& key);
  const EnvKey* Find(uint32_t env_id, uint32_t epoch) const;
  const EnvKey* Newest(uint32_t env_id) const;
  std::vector<uint32_t> Epochs(uint32_t env_id) const;
  void Forget(uint32_t env_id);
  void ForgetEpoch(uint32_t env_id, uint32_t epoch);
  // Forgets every environment not in `envs` (the host stopped running them).
  void RetainOnly(const std::set<uint32_t>& envs);
  std::set<uint32_t> Envs() const;

 private:
  std::map<uint32_t, std::map<uint32_t, EnvKey>> keys_;  // env -> epoch -> key
};

}  // namespace rv::overlay
