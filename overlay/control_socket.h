// ControlSocket: overlayd's local unix-socket endpoint (contract). One request
// per connection, first line is the command:
//   "stats\n"            -> one JSON object (counters, envs)
//   "apply\n<json doc>"  -> applies a ControlConfig document (see control.h);
//                           replies {"ok":true} or {"ok":false,"error":...}
//   "keepalive\n"        -> extends the lease of the applied state (lease.h);
//                           replies {"ok":true,"held":bool}, held=false: apply again
// The socket file is created 0600 (root only: it can change routing). A slow
// or hostile client is cut off after a timeout and a 16 MB request limit.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "common/status.h"

namespace rv::overlay {

class ControlSocket {
 public:
  using Handler = std::function<std::string(const std::string& cmd, const std::string& body)>;
  static Result<std::unique_ptr<ControlSocket>> Listen(const std::string& path, Handler h);
  ~ControlSocket();

 private:
  ControlSocket(int fd, std::string path, Handler h) : fd_(fd), path_(std::move(path)), h_(std::move(h)) {}
  void Loop();
  int fd_;
  std::string path_;
  Handler h_;
  std::atomic<bool> stop_{false};
  std::thread th_;
};

// Client side (overlayd --stats, tests, strider): sends one request, returns the reply.
Result<std::string> ControlRequest(const std::string& path, const std::string& cmd,
                                   const std::string& body = "", int timeout_ms = 5000);

}  // namespace rv::overlay
