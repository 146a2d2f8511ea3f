#include "common/crypto/sealed_box.h"

#include <sodium.h>
#include <zmq.h>

#include <msgpack.hpp>

namespace rv::crypto {

namespace {
void InitSodium() {
  if (sodium_init() < 0) abort();
}
}  // namespace

void Wipe(std::string& s) {
  if (!s.empty()) sodium_memzero(s.data(), s.size());
  s.clear();
}

SecretEnv::~SecretEnv() {
  for (auto& [k, v] : vars_) Wipe(v);
}

BoxKeyPair GenerateBoxKeyPair() {
  InitSodium();
  BoxKeyPair kp;
  kp.public_key.resize(crypto_box_PUBLICKEYBYTES);
  kp.secret_key.resize(crypto_box_SECRETKEYBYTES);
  crypto_box_keypair(reinterpret_cast<unsigned char*>(kp.public_key.data()),
                     reinterpret_cast<unsigned char*>(kp.secret_key.data()));
  return kp;
}

Result<std::string> DecodeZ85Key(const std::string& z85) {
  if (z85.size() != 40) return Status::Invalid("Z85 key must be 40 chars");
  std::string raw(32, '\0');
  if (!zmq_z85_decode(reinterpret_cast<uint8_t*>(raw.data()), z85.c_str()))
    return Status::Invalid("not a Z85 key");
  return raw;
}

Result<std::string> Seal(const std::string& pk, const std::string& plaintext) {
  InitSodium();
  if (pk.size() != crypto_box_PUBLICKEYBYTES) return Status::Invalid("recipient key must be 32 bytes");
  std::string out(plaintext.size() + crypto_box_SEALBYTES, '\0');
  if (crypto_box_seal(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(plaintext.data()), plaintext.size(),
                      reinterpret_cast<const unsigned char*>(pk.data())) != 0)
    return Status::Internal("crypto_box_seal failed");
  return out;
}

Result<std::string> OpenSealed(const BoxKeyPair& kp, const std::string& sealed) {
  InitSodium();
  if (kp.public_key.size() != crypto_box_PUBLICKEYBYTES || kp.secret_key.size() != crypto_box_SECRETKEYBYTES)
    return Status::Invalid("bad key pair");
  if (sealed.size() < crypto_box_SEALBYTES) return Status::Denied("sealed box too short");
  std::string out(sealed.size() - crypto_box_SEALBYTES, '\0');
  if (crypto_box_seal_open(reinterpret_cast<unsigned char*>(out.data()),
                           reinterpret_cast<const unsigned char*>(sealed.data()), sealed.size(),
                           reinterpret_cast<const unsigned char*>(kp.public_key.data()),
                           reinterpret_cast<const unsigned char*>(kp.secret_key.data())) != 0)
    return Status::Denied("sealed box does not open with this host's key (wrong host or tampered)");
  return out;
}

Result<std::string> SealEnv(const std::string& pk, const std::map<std::string, std::string>& env) {
  msgpack::sbuffer buf;
  msgpack::pack(buf, env);
  std::string plain(buf.data(), buf.size());
  sodium_memzero(buf.data(), buf.size());
  auto r = Seal(pk, plain);
  Wipe(plain);
  return r;
}

Result<SecretEnv> OpenSealedEnv(const BoxKeyPair& kp, const std::string& sealed) {
  if (sealed.empty()) return SecretEnv();  // no secrets for this environment
  auto plain = OpenSealed(kp, sealed);
  if (!plain.ok()) return plain.status();
  SecretEnv env;
  try {
    auto oh = msgpack::unpack(plain->data(), plain->size());
    oh.get().convert(env.mutable_vars());
  } catch (const std::exception& e) {
    Wipe(*plain);
    return Status::Invalid(std::string("sealed env is not a string map: ") + e.what());
  }
  Wipe(*plain);
  return env;
}

}  // namespace rv::crypto
