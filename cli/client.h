// Client: the CLI's connection to one pod's sauron, as user "admin".
//
// Loads pod.json, the admin key (<pod_dir>/keys/admin.key) and sauron's public
// key, and turns every failure into a message a person can act on ("cannot
// reach sauron at tcp://...: ..."). Each call is one request with a timeout.
#pragma once

#include <zmq.hpp>

#include <memory>
#include <string>

#include "common/config.h"
#include "common/msg/protocol.h"
#include "common/transport/keys.h"
#include "common/transport/rpc_client.h"

namespace rv::cli {

class Client {
 public:
  static Result<std::unique_ptr<Client>> Open(const std::string& pod_path, int timeout_ms);

  template <typename Req, typename Resp>
  Status Call(const Req& req, Resp* out) {
    Status s = rpc_->Call(req, out, std::chrono::milliseconds(timeout_ms_));
    return Explain(s);
  }
  template <typename Req>
  Status Call(const Req& req) {
    return Explain(rpc_->Call(req, std::chrono::milliseconds(timeout_ms_)));
  }
  Result<msg::Listing> List(const std::string& what, int limit = 100000, int64_t after_seq = 0, bool newest = false);

  const PodConfig& config() const { return cfg_; }
  zmq::context_t& context() { return ctx_; }
  const transport::CurveKeypair& key() const { return key_; }
  const std::string& sauron_key() const { return sauron_key_; }
  // Another connection to the same sauron, for another thread (a ZeroMQ
  // socket has one owner thread); calls on it are not Explain()ed.
  std::unique_ptr<transport::RpcClient> NewRpc() {
    return std::make_unique<transport::RpcClient>(ctx_, cfg_.sauron.api, key_, sauron_key_);
  }

 private:
  Client() = default;
  Status Explain(const Status& s) const;

  PodConfig cfg_;
  zmq::context_t ctx_;
  transport::CurveKeypair key_;
  std::string sauron_key_;
  std::unique_ptr<transport::RpcClient> rpc_;
  int timeout_ms_ = 3000;
};

}  // namespace rv::cli
