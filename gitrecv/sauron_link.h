// SauronLink: gitrecv's questions to sauron (git.key_lookup, git.authorize)
// over the CURVE API, with the key `gitrecv setup` put in client_key.
//
// Contract:
//  * ClientKeyFileFor() is the one place that picks that key: the pod's
//    keys/gitrecv.key (the git server's own role) when it exists, else
//    keys/admin.key (sauron answers git.* to admin too, until every pod has
//    a gitrecv key).
//  * Each call is one request with a timeout; a sauron that is down is
//    Status::Unavailable with its address, never a hang.
//  * One owner thread (a short-lived gitrecv process).
#pragma once

#include <zmq.hpp>

#include <memory>
#include <string>

#include "common/config.h"
#include "common/msg/accounts.h"
#include "common/status.h"
#include "common/transport/rpc_client.h"
#include "gitrecv/config.h"

namespace rv::gitrecv {

std::string ClientKeyFileFor(const PodConfig& pod);

class SauronLink {
 public:
  static Result<std::unique_ptr<SauronLink>> Open(const GitrecvConfig& cfg, int timeout_ms = 5000);
  Result<msg::KeyOwner> LookupKey(const std::string& type, const std::string& blob_base64);
  Result<msg::GitAccess> Authorize(const std::string& user, const std::string& app, bool write);

 private:
  SauronLink() = default;
  Status Explain(const Status& s) const;
  zmq::context_t ctx_;
  std::unique_ptr<transport::RpcClient> rpc_;
  std::string api_;
  int timeout_ms_ = 5000;
};

}  // namespace rv::gitrecv
