#include "sauron/beacon_receiver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/clock.h"
#include "common/transport/beacon.h"

namespace rv::sauron {

BeaconReceiver::BeaconReceiver() : next_id_(randombytes_random() | 1u) {}

BeaconReceiver::~BeaconReceiver() {
  if (fd_ >= 0) close(fd_);
}

Status BeaconReceiver::Bind(const std::string& ip, int port) {
  fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return Status::Io(std::string("beacon socket: ") + strerror(errno));
  // Room for a few seconds of beacons from a large pod while the loop is busy.
  // SO_RCVBUF is capped by net.core.rmem_max (~200 KB: ~250 queued datagrams,
  // 40 ms of a 1000-host pod); as root, SO_RCVBUFFORCE is not.
  int rcvbuf = 8 << 20;
  if (setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0) {
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  std::string host = ip == "*" || ip.empty() ? "0.0.0.0" : ip;
  if (inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1) return Status::Invalid("beacon address '" + ip + "' is not IPv4");
  if (bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    return Status::Io("beacon bind " + host + ":" + std::to_string(port) + ": " + strerror(errno));
  }
  socklen_t len = sizeof a;
  getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  return Status::Ok();
}

BeaconReceiver::Session BeaconReceiver::Issue(const std::string& host) {
  Revoke(host);
  Session s{next_id_++, transport::NewBeaconKey()};
  if (s.id == 0) s.id = next_id_++;
  Entry e{host, {}, 0};
  std::memcpy(e.key.data(), s.key.data(), e.key.size());
  sessions_[s.id] = std::move(e);
  by_host_[host] = s.id;
  return s;
}

void BeaconReceiver::Revoke(const std::string& host) {
  auto it = by_host_.find(host);
  if (it == by_host_.end()) return;
  sessions_.erase(it->second);
  by_host_.erase(it);
}

void BeaconReceiver::Drain(const std::function<void(const std::string&)>& first) {
  if (fd_ < 0) return;
  const int64_t now = MonotonicMs();  // one reading per drain: they all arrived by now
  constexpr int kBatch = 64;
  uint8_t bufs[kBatch][transport::kBeaconBytes + 1];
  iovec iov[kBatch];
  mmsghdr msgs[kBatch];
  while (true) {
    for (int i = 0; i < kBatch; ++i) {
      iov[i] = {bufs[i], sizeof bufs[i]};  // one spare byte: longer datagrams are visibly wrong
      msgs[i] = {};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int n = recvmmsg(fd_, msgs, kBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) return;
    for (int i = 0; i < n; ++i) {
      size_t size = msgs[i].msg_len;
      if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) size = 0;
      uint32_t session = 0;
      uint64_t counter = 0;
      auto it = transport::PeekBeaconSession(bufs[i], size, &session) ? sessions_.find(session) : sessions_.end();
      if (it == sessions_.end()) {
        rejected_++;
        unknown_session_++;
        continue;
      }
      if (!transport::VerifyBeacon(bufs[i], size, it->second.key.data(), &counter)) {
        rejected_++;
        bad_tag_++;
        continue;
      }
      if (counter <= it->second.last_counter) {
        rejected_++;
        replayed_++;
        continue;
      }
      bool first_of_session = it->second.last_ms == 0;
      it->second.last_counter = counter;
      it->second.last_ms = now;
      accepted_++;
      if (first_of_session) first(it->second.host);
    }
    if (n < kBatch) return;
  }
}

int64_t BeaconReceiver::LastBeaconMs(const std::string& host) const {
  auto h = by_host_.find(host);
  if (h == by_host_.end()) return 0;
  auto it = sessions_.find(h->second);
  return it == sessions_.end() ? 0 : it->second.last_ms;
}

std::string BeaconReceiver::Describe(const std::string& host) const {
  auto h = by_host_.find(host);
  if (h == by_host_.end()) return "no beacon session";
  auto it = sessions_.find(h->second);
  if (it == sessions_.end() || it->second.last_ms == 0) return "no beacon accepted in this session";
  return "last beacon #" + std::to_string(it->second.last_counter) + " accepted " +
         std::to_string(MonotonicMs() - it->second.last_ms) + " ms ago";
}

}  // namespace rv::sauron
