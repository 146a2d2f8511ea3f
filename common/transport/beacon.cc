#include "common/transport/beacon.h"

#include <sodium.h>

#include <cstring>

namespace rv::transport {
namespace {

uint64_t Tag(const uint8_t* msg12, const uint8_t* key) {
  uint8_t out[crypto_shorthash_siphash24_BYTES];
  crypto_shorthash_siphash24(out, msg12, 12, key);
  uint64_t t;
  std::memcpy(&t, out, 8);
  return t;
}

}  // namespace

void EncodeBeacon(uint32_t session, uint64_t counter, const std::string& key, uint8_t* out) {
  std::memcpy(out, &session, 4);
  std::memcpy(out + 4, &counter, 8);
  uint64_t tag = Tag(out, reinterpret_cast<const uint8_t*>(key.data()));
  std::memcpy(out + 12, &tag, 8);
}

bool PeekBeaconSession(const uint8_t* data, size_t size, uint32_t* session) {
  if (size != kBeaconBytes) return false;
  std::memcpy(session, data, 4);
  return true;
}

bool VerifyBeacon(const uint8_t* data, size_t size, const std::string& key, uint64_t* counter) {
  if (key.size() != kBeaconKeyBytes) return false;
  return VerifyBeacon(data, size, reinterpret_cast<const uint8_t*>(key.data()), counter);
}

bool VerifyBeacon(const uint8_t* data, size_t size, const uint8_t* key, uint64_t* counter) {
  if (size != kBeaconBytes) return false;
  uint64_t tag;
  std::memcpy(&tag, data + 12, 8);
  uint64_t want = Tag(data, key);
  if (sodium_memcmp(&tag, &want, 8) != 0) return false;
  std::memcpy(counter, data + 4, 8);
  return true;
}

std::string NewBeaconKey() {
  std::string key(kBeaconKeyBytes, '\0');
  randombytes_buf(key.data(), key.size());
  return key;
}

}  // namespace rv::transport
