#include "overlay/keyring.h"

#include <sodium.h>
#include <zmq.h>

#include <cstring>

#include "common/transport/keys.h"

namespace rv::overlay {
namespace {

constexpr char kMagic[4] = {'R', 'V', 'K', '1'};
constexpr size_t kPlainSize = 4 + 4 + 4 + 1 + kKeySize;

void Wipe(EnvKey& k) { sodium_memzero(k.key.data(), k.key.size()); }

}  // namespace

EnvKey NewEnvKey(uint32_t env_id, uint32_t epoch, AeadKind aead) {
  if (sodium_init() < 0) abort();  // the CSPRNG is not optional
  EnvKey k;
  k.env_id = env_id;
  k.epoch = epoch;
  k.aead = aead;
  randombytes_buf(k.key.data(), k.key.size());
  return k;
}

Result<std::string> SealEnvKey(const EnvKey& key, const std::string& host_public_key) {
  if (sodium_init() < 0) return Status::Internal("libsodium init failed");
  if (host_public_key.size() != crypto_box_PUBLICKEYBYTES)
    return Status::Invalid("host public key must be 32 bytes");
  uint8_t plain[kPlainSize];
  memcpy(plain, kMagic, 4);
  for (int i = 0; i < 4; i++) plain[4 + i] = uint8_t(key.env_id >> (8 * i));
  for (int i = 0; i < 4; i++) plain[8 + i] = uint8_t(key.epoch >> (8 * i));
  plain[12] = uint8_t(key.aead);
  memcpy(plain + 13, key.key.data(), kKeySize);
  std::string out(kPlainSize + crypto_box_SEALBYTES, '\0');
  int rc = crypto_box_seal(reinterpret_cast<uint8_t*>(out.data()), plain, kPlainSize,
                           reinterpret_cast<const uint8_t*>(host_public_key.data()));
  sodium_memzero(plain, sizeof(plain));
  if (rc != 0) return Status::Internal("crypto_box_seal failed");
  return out;
}

Result<EnvKey> OpenEnvKey(const std::string& sealed, const std::string& host_public_key,
                          const std::string& host_secret_key) {
  if (sodium_init() < 0) return Status::Internal("libsodium init failed");
  if (host_public_key.size() != 32 || host_secret_key.size() != 32)
    return Status::Invalid("host key pair must be 32+32 bytes");
  if (sealed.size() != kPlainSize + crypto_box_SEALBYTES)
    return Status::Invalid("sealed env key has the wrong size");
  uint8_t plain[kPlainSize];
  if (crypto_box_seal_open(plain, reinterpret_cast<const uint8_t*>(sealed.data()), sealed.size(),
                           reinterpret_cast<const uint8_t*>(host_public_key.data()),
                           reinterpret_cast<const uint8_t*>(host_secret_key.data())) != 0)
    return Status::Denied("sealed env key does not open with this host's key");
  EnvKey k;
  bool ok = memcmp(plain, kMagic, 4) == 0 && (plain[12] == 1 || plain[12] == 2);
  for (int i = 0; i < 4; i++) k.env_id |= uint32_t(plain[4 + i]) << (8 * i);
  for (int i = 0; i < 4; i++) k.epoch |= uint32_t(plain[8 + i]) << (8 * i);
  k.aead = AeadKind(plain[12]);
  memcpy(k.key.data(), plain + 13, kKeySize);
  sodium_memzero(plain, sizeof(plain));
  if (!ok) {
    Wipe(k);
    return Status::Invalid("sealed env key has an unknown format");
  }
  return k;
}

HostKeyPair NewHostKeyPair() {
  if (sodium_init() < 0) abort();
  HostKeyPair kp;
  kp.public_key.resize(32);
  kp.secret_key.resize(32);
  crypto_box_keypair(reinterpret_cast<uint8_t*>(kp.public_key.data()),
                     reinterpret_cast<uint8_t*>(kp.secret_key.data()));
  return kp;
}

Result<std::string> Z85DecodeKey(const std::string& z85) {
  if (z85.size() != 40) return Status::Invalid("Z85 key must be 40 characters");
  std::string out(32, '\0');
  if (!zmq_z85_decode(reinterpret_cast<uint8_t*>(out.data()), z85.c_str()))
    return Status::Invalid("bad Z85 key");
  return out;
}

Result<HostKeyPair> LoadHostKeyPair(const std::string& curve_key_file) {
  auto kp = transport::LoadKeypair(curve_key_file);
  if (!kp.ok()) return kp.status();
  auto pk = Z85DecodeKey(kp->public_key);
  if (!pk.ok()) return pk.status();
  auto sk = Z85DecodeKey(kp->secret_key);
  if (!sk.ok()) return sk.status();
  return HostKeyPair{*pk, *sk};
}

std::string ToHex(const std::string& bytes) {
  static const char* d = "0123456789abcdef";
  std::string s;
  s.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    s.push_back(d[c >> 4]);
    s.push_back(d[c & 15]);
  }
  return s;
}

Result<std::string> FromHex(const std::string& hex) {
  if (hex.size() % 2) return Status::Invalid("hex string has odd length");
  std::string out(hex.size() / 2, '\0');
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < out.size(); i++) {
    int hi = nib(hex[2 * i]), lo = nib(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return Status::Invalid("bad hex digit");
    out[i] = char(hi << 4 | lo);
  }
  return out;
}

Keyring::~Keyring() {
  for (auto& [env, epochs] : keys_)
    for (auto& [e, k] : epochs) Wipe(k);
}

Status Keyring::Install(const EnvKey& key) {
  auto& epochs = keys_[key.env_id];
  auto it = epochs.find(key.epoch);
  if (it != epochs.end()) Wipe(it->second);
  epochs[key.epoch] = key;
  while (epochs.size() > kMaxEpochs) {
    Wipe(epochs.begin()->second);
    epochs.erase(epochs.begin());
  }
  return Status::Ok();
}

const EnvKey* Keyring::Find(uint32_t env_id, uint32_t epoch) const {
  auto it = keys_.find(env_id);
  if (it == keys_.end()) return nullptr;
  auto k = it->second.find(epoch);
  return k == it->second.end() ? nullptr : &k->second;
}

const EnvKey* Keyring::Newest(uint32_t env_id) const {
  auto it = keys_.find(env_id);
  if (it == keys_.end() || it->second.empty()) return nullptr;
  return &it->second.rbegin()->second;
}

std::vector<uint32_t> Keyring::Epochs(uint32_t env_id) const {
  std::vector<uint32_t> out;
  auto it = keys_.find(env_id);
  if (it != keys_.end())
    for (auto& [e, k] : it->second) out.push_back(e);
  return out;
}

void Keyring::Forget(uint32_t env_id) {
  auto it = keys_.find(env_id);
  if (it == keys_.end()) return;
  for (auto& [e, k] : it->second) Wipe(k);
  keys_.erase(it);
}

void Keyring::ForgetEpoch(uint32_t env_id, uint32_t epoch) {
  auto it = keys_.find(env_id);
  if (it == keys_.end()) return;
  auto k = it->second.find(epoch);
  if (k == it->second.end()) return;
  Wipe(k->second);
  it->second.erase(k);
  if (it->second.empty()) keys_.erase(it);
}

void Keyring::RetainOnly(const std::set<uint32_t>& envs) {
  std::vector<uint32_t> drop;
  for (auto& [env, epochs] : keys_)
    if (!envs.count(env)) drop.push_back(env);
  for (uint32_t env : drop) Forget(env);
}

std::set<uint32_t> Keyring::Envs() const {
  std::set<uint32_t> s;
  for (auto& [env, epochs] : keys_) s.insert(env);
  return s;
}

}  // namespace rv::overlay
