// ProxyNoticeListener: this host's subscription to sauron's "proxy.changed"
// notices (to/<host>/proxy.changed, docs/PROXY.md "Refresh"): for each one
// naming this host it wakes the proxies of the env it names (ProxyWakeups),
// which then fetch host.proxy_routes and host.proxy_certs at once.
//
// Contract: its own thread and SUB socket (CURVE client of sauron's PUB), so
// a busy agent loop never delays a proxy's update. A lost notice (PUB drops,
// a reconnect) is healed by the proxies' slow fallback refresh. A refused
// CURVE handshake (sauron did not know this host's key yet), which libzmq
// never retries, makes it subscribe again after a backoff (0.5-5 s;
// transport::ChangeSubscriber).
// Malformed or foreign notices are ignored. Start once; the destructor stops
// and joins.
#pragma once

#include <zmq.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "common/transport/keys.h"
#include "strider/proxy_wakeups.h"

namespace rv::strider {

struct ProxyNoticeOptions {
  std::string host_id;
  std::string sauron_pub;
  transport::CurveKeypair key;
  std::string sauron_public_key;
};

class ProxyNoticeListener {
 public:
  ProxyNoticeListener(zmq::context_t& ctx, ProxyNoticeOptions o, std::shared_ptr<ProxyWakeups> wakeups);
  ~ProxyNoticeListener();
  void Start();
  int64_t received() const { return received_.load(); }

 private:
  void Loop();

  zmq::context_t& ctx_;
  ProxyNoticeOptions o_;
  std::shared_ptr<ProxyWakeups> wakeups_;
  std::thread th_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> received_{0};
};

}  // namespace rv::strider
