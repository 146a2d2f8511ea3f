// SauronProxySource: a ProxySource (proxy_workload.h) over this host's CURVE
// connection to sauron: host.proxy_routes and host.proxy_certs, whose keys
// arrive sealed to this host's key and are opened here, in memory. The last
// whole set of each env is held (ProxyCertCache) so sauron can answer
// "unchanged" instead of sealing it again at every refresh.
// Thread-safe (one DEALER, calls serialized): every proxy of the host shares it.
#pragma once

#include <zmq.hpp>

#include <memory>
#include <mutex>

#include "common/transport/keys.h"
#include "common/transport/rpc_client.h"
#include "strider/proxy_cert_cache.h"
#include "strider/proxy_workload.h"

namespace rv::strider {

class SauronProxySource : public ProxySource {
 public:
  SauronProxySource(zmq::context_t& ctx, std::string host_id, std::string sauron_api, transport::CurveKeypair key,
                    std::string sauron_public_key)
      : ctx_(ctx), host_id_(std::move(host_id)), api_(std::move(sauron_api)), key_(std::move(key)),
        server_key_(std::move(sauron_public_key)) {}
  Result<msg::ProxyRoutes> Routes(const std::string& env) override;
  Result<std::vector<ProxyCert>> Certs(const std::string& env) override;

 private:
  transport::RpcClient& Client();
  Status Failed(const Status& s);  // mu_ held

  zmq::context_t& ctx_;
  std::string host_id_, api_;
  transport::CurveKeypair key_;
  std::string server_key_;
  std::mutex mu_;
  std::unique_ptr<transport::RpcClient> client_;
  ProxyCertCache certs_;  // under mu_
};

}  // namespace rv::strider
