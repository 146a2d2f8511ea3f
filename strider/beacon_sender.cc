#include "strider/beacon_sender.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/transport/beacon.h"

namespace rv::strider {

BeaconSender::~BeaconSender() { Stop(); }

Status BeaconSender::Start(const std::string& host, int port, uint32_t session, const std::string& key,
                           int interval_ms) {
  std::lock_guard lock(mu_);
  CloseLocked();
  if (port <= 0 || port > 65535 || key.size() != transport::kBeaconKeyBytes || interval_ms <= 0) {
    return Status::Invalid("bad beacon session from sauron");
  }
  std::string h = host.empty() || host == "*" || host == "0.0.0.0" ? "127.0.0.1" : host;
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(h.c_str(), std::to_string(port).c_str(), &hints, &res) != 0 || res == nullptr) {
    return Status::Unavailable("cannot resolve beacon address " + h);
  }
  fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int rc = fd_ >= 0 ? connect(fd_, res->ai_addr, res->ai_addrlen) : -1;
  freeaddrinfo(res);
  if (rc != 0) {
    CloseLocked();
    return Status::Io(std::string("beacon socket: ") + strerror(errno));
  }
  session_ = session;
  key_ = key;
  counter_ = 0;
  interval_ms_ = interval_ms;
  next_ms_ = 0;
  return Status::Ok();
}

void BeaconSender::Stop() {
  std::lock_guard lock(mu_);
  CloseLocked();
}

void BeaconSender::CloseLocked() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

bool BeaconSender::active() const {
  std::lock_guard lock(mu_);
  return fd_ >= 0;
}
int64_t BeaconSender::sent() const {
  std::lock_guard lock(mu_);
  return sent_;
}
int64_t BeaconSender::failed() const {
  std::lock_guard lock(mu_);
  return failed_;
}
int64_t BeaconSender::withheld() const {
  std::lock_guard lock(mu_);
  return withheld_;
}

void BeaconSender::Tick(int64_t now_ms) {
  std::lock_guard lock(mu_);
  if (fd_ < 0 || now_ms < next_ms_) return;
  // Fixed rate, not "interval after the last send": a tick that comes late
  // (the pump shares a core with everything else) must not stretch every
  // following period, or sauron hears the host less often than it expects.
  // After a real stall, resume without a burst.
  if (next_ms_ == 0 || now_ms - next_ms_ >= interval_ms_) next_ms_ = now_ms;
  next_ms_ += interval_ms_;
  if (watchdog_ms_ > 0 && now_ms - alive_ms_.load(std::memory_order_relaxed) > watchdog_ms_) {
    withheld_++;  // the owner's loop is wedged: let sauron see this host go silent
    return;
  }
  uint8_t b[transport::kBeaconBytes];
  transport::EncodeBeacon(session_, ++counter_, key_, b);
  if (send(fd_, b, sizeof b, MSG_DONTWAIT) == static_cast<ssize_t>(sizeof b)) {
    sent_++;
  } else {
    failed_++;
  }
}

std::string EndpointHost(const std::string& endpoint) {
  auto scheme = endpoint.find("://");
  auto colon = endpoint.rfind(':');
  if (scheme == std::string::npos || colon == std::string::npos || colon <= scheme + 3) return "";
  return endpoint.substr(scheme + 3, colon - scheme - 3);
}

}  // namespace rv::strider
