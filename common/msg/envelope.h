// Envelope: the framing of every Rivendell control message.
//
// On the wire a message is one msgpack array: [version, type, req_id, body].
//   version  uint   protocol version; receivers reject versions they do not speak
//   type     str    message type, e.g. "auction.bid" (each struct's kType)
//   req_id   uint   0 for one-way messages; a request's id, echoed by its reply
//   body     map    the message struct, encoded as a map so fields can be added
//                   without breaking older readers (unknown keys are ignored,
//                   missing keys keep their defaults)
//
// Decoding never trusts its input: sizes, nesting depth and container lengths are
// bounded, trailing bytes are rejected, and every failure is a Status, never an
// exception or a crash. This is the surface the fuzz target exercises.
#pragma once

#include <msgpack.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace rv::msg {

inline constexpr uint32_t kProtocolVersion = 1;
inline constexpr size_t kMaxMessageBytes = 16u << 20;

struct Envelope {
  uint32_t version = 0;
  std::string type;
  uint64_t req_id = 0;
  msgpack::object body;                       // points into `handle`
  std::shared_ptr<msgpack::object_handle> handle;
};

// Parses the framing only; the body is checked by DecodeBody.
Result<Envelope> DecodeEnvelope(const void* data, size_t size);
inline Result<Envelope> DecodeEnvelope(std::string_view bytes) {
  return DecodeEnvelope(bytes.data(), bytes.size());
}

// Encodes `body` (a struct with RV_DEFINE_MAP and a static kType).
template <typename T>
std::string Encode(const T& body, uint64_t req_id = 0) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_array(4);
  pk.pack(kProtocolVersion);
  pk.pack(std::string_view(T::kType));
  pk.pack(req_id);
  pk.pack(body);
  return std::string(buf.data(), buf.size());
}

// Converts the envelope's body into T; fails if the type or shape is wrong.
template <typename T>
Status DecodeBody(const Envelope& env, T* out) {
  if (env.type != T::kType) {
    return Status::Invalid("expected message '" + std::string(T::kType) + "', got '" + env.type + "'");
  }
  try {
    env.body.convert(*out);
  } catch (const std::exception& e) {
    return Status::Invalid("malformed '" + env.type + "' body: " + e.what());
  }
  return Status::Ok();
}

}  // namespace rv::msg
