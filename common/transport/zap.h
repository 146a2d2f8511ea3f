// ZapAuthenticator: the ZAP handler of one ZeroMQ context. It approves a CURVE
// client only if its public key is on the allow-list, and tags the connection
// with that key's user id (a host id, "elrond", "admin", ...), which receivers
// read back with zmq_msg_gets(msg, "User-Id") to check who sent a message.
// Refusals are counted and logged with the key's fingerprint and peer address.
//
// Construct it before binding any CURVE server socket on the same context.
// Allow/Revoke are thread-safe.
#pragma once

#include <zmq.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace rv::transport {

class ZapAuthenticator {
 public:
  explicit ZapAuthenticator(zmq::context_t& ctx);
  ~ZapAuthenticator();
  ZapAuthenticator(const ZapAuthenticator&) = delete;
  ZapAuthenticator& operator=(const ZapAuthenticator&) = delete;

  void Allow(const std::string& public_key_z85, const std::string& user_id);
  void Revoke(const std::string& public_key_z85);
  bool IsAllowed(const std::string& public_key_z85) const;
  int64_t refused() const { return refused_.load(); }
  // Called (from the ZAP thread) for every refusal: (key fingerprint, peer address).
  void OnRefused(std::function<void(const std::string&, const std::string&)> fn);

 private:
  void Run();

  zmq::context_t& ctx_;
  mutable std::mutex mu_;
  std::map<std::string, std::string> allowed_;  // public key (Z85) -> user id
  std::function<void(const std::string&, const std::string&)> on_refused_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> refused_{0};
  std::thread thread_;
};

}  // namespace rv::transport
