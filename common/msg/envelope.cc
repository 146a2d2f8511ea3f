#include "common/msg/envelope.h"

namespace rv::msg {
namespace {

// Generous for real traffic (a batch of a few thousand jobs), small enough that a
// hostile message cannot make the decoder allocate gigabytes.
const msgpack::unpack_limit kLimits(/*array=*/200000, /*map=*/200000, /*str=*/kMaxMessageBytes,
                                    /*bin=*/kMaxMessageBytes, /*ext=*/0, /*depth=*/24);

}  // namespace

Result<Envelope> DecodeEnvelope(const void* data, size_t size) {
  if (size == 0) return Status::Invalid("empty message");
  if (size > kMaxMessageBytes) return Status::Invalid("message too large: " + std::to_string(size) + " bytes");
  auto handle = std::make_shared<msgpack::object_handle>();
  try {
    std::size_t offset = 0;
    msgpack::unpack(*handle, static_cast<const char*>(data), size, offset, nullptr, nullptr, kLimits);
    if (offset != size) return Status::Invalid("trailing bytes after message");
  } catch (const std::exception& e) {
    return Status::Invalid(std::string("undecodable message: ") + e.what());
  }
  const msgpack::object& root = handle->get();
  if (root.type != msgpack::type::ARRAY || root.via.array.size != 4) {
    return Status::Invalid("message is not a [version, type, req_id, body] array");
  }
  const msgpack::object* f = root.via.array.ptr;
  if (f[0].type != msgpack::type::POSITIVE_INTEGER) return Status::Invalid("bad version field");
  if (f[1].type != msgpack::type::STR || f[1].via.str.size == 0 || f[1].via.str.size > 64) {
    return Status::Invalid("bad type field");
  }
  if (f[2].type != msgpack::type::POSITIVE_INTEGER) return Status::Invalid("bad req_id field");
  if (f[3].type != msgpack::type::MAP) return Status::Invalid("body is not a map");
  Envelope env;
  env.version = f[0].via.u64 > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(f[0].via.u64);
  if (env.version != kProtocolVersion) {
    return Status::Invalid("unsupported protocol version " + std::to_string(f[0].via.u64) +
                           " (this build speaks " + std::to_string(kProtocolVersion) + ")");
  }
  env.type.assign(f[1].via.str.ptr, f[1].via.str.size);
  env.req_id = f[2].via.u64;
  env.body = f[3];
  env.handle = std::move(handle);
  return env;
}

}  // namespace rv::msg
