#include "sauron/log_relay.h"

#include <sodium.h>

namespace rv::sauron {
namespace {

std::string RandomToken() {
  unsigned char b[16];
  randombytes_buf(b, sizeof b);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string t;
  for (unsigned char c : b) {
    t += kHex[c >> 4];
    t += kHex[c & 15];
  }
  return t;
}

}  // namespace

void LogRelay::Expire(int64_t now_ms) {
  for (auto it = wants_.begin(); it != wants_.end();) {
    it = now_ms - it->second.opened_ms >= kTtlMs ? wants_.erase(it) : std::next(it);
  }
}

Result<std::string> LogRelay::Open(const std::string& host_id, int64_t now_ms) {
  Expire(now_ms);
  if (wants_.size() >= kMaxOpen) {
    return Status::Unavailable("too many log reads in flight (" + std::to_string(kMaxOpen) + "): try again");
  }
  std::string token = RandomToken();
  wants_[token] = Want{host_id, now_ms, std::nullopt};
  return token;
}

Status LogRelay::Deliver(const std::string& host_id, const std::string& token, msg::LogChunk chunk, int64_t now_ms) {
  Expire(now_ms);
  auto it = wants_.find(token);
  if (it == wants_.end() || it->second.chunk) return Status::NotFound("no log read waits for this chunk (expired?)");
  if (it->second.host_id != host_id) return Status::Denied("this log read was asked of another host");
  if (static_cast<int64_t>(chunk.data.size()) > msg::kMaxLogChunkBytes) {
    return Status::Invalid("a log chunk is at most " + std::to_string(msg::kMaxLogChunkBytes) + " bytes");
  }
  chunk.ready = true;
  it->second.chunk = std::move(chunk);
  return Status::Ok();
}

Result<std::optional<msg::LogChunk>> LogRelay::Take(const std::string& token, int64_t now_ms) {
  Expire(now_ms);
  auto it = wants_.find(token);
  if (it == wants_.end()) return Status::NotFound("no such log read (it expired after 10 s, or was taken)");
  if (!it->second.chunk) return std::optional<msg::LogChunk>();
  std::optional<msg::LogChunk> c = std::move(it->second.chunk);
  wants_.erase(it);
  return c;
}

}  // namespace rv::sauron
