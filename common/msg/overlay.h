// Overlay messages: what sauron tells each host about the
// environments' private networks, and the operator's key rotation.
//
//   strider  --DEALER-->  sauron ROUTER   host.overlay        -> OverlayView (this host's)
//   rv (CLI) --DEALER-->  sauron ROUTER   admin.rotate_key    -> RotateKeyResult
//   rv (CLI) --DEALER-->  sauron ROUTER   admin.overlay       -> OverlayListing
//   sauron   --PUB----->  striders        change "overlay.changed" (detail: the
//                                         affected host ids, comma separated)
//
// An OverlayView is the whole overlay state ONE host needs: the environments
// it runs a container of, each with its keys sealed to that host's public key
// (crypto_box_seal; never in the clear), every route of those environments
// (overlay address -> host), and the host's own containers' addresses. The
// strider turns it into overlayd's control document (overlay/control.h).
#pragma once

#include <msgpack.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "common/msg/fast_map.h"

namespace rv::msg {

struct OverlayViewRequest {
  static constexpr const char* kType = "host.overlay";
  std::string host_id;
  RV_DEFINE_MAP(host_id);
};

struct OverlayHost {
  std::string host_id;
  uint32_t num = 0;          // overlay sender id (nonce prefix), stable per host
  std::string endpoint;      // underlay "ip:port" of its overlayd
  RV_DEFINE_MAP(host_id, num, endpoint);
};

struct OverlayKey {
  uint32_t epoch = 0;
  std::string sealed;        // binary: overlay::SealEnvKey to the receiving host
  // The epoch's AEAD (aes256gcm | chacha20poly1305). Epochs of one env may
  // differ: a rotation can move the env to another AEAD, and both ends switch
  // with the send epoch. "" (older sauron) = the env's `aead`.
  std::string aead;
  RV_DEFINE_MAP(epoch, sealed, aead);
};

struct OverlayRoute {
  std::string addr;          // overlay address
  std::string host_id;
  std::string job_id;
  int64_t attempt = 0;
  RV_DEFINE_MAP(addr, host_id, job_id, attempt);
};

struct OverlayEnv {
  std::string env;           // JobSpec.env
  uint32_t num = 0;          // overlay env id (TUN rvo-<num>, table 10000+num)
  std::string subnet;        // "10.240.3.0/24"
  std::string aead;          // the send epoch's AEAD: aes256gcm | chacha20poly1305
  uint32_t send_epoch = 0;
  std::vector<OverlayKey> keys;       // newest first, at most two
  std::vector<OverlayRoute> routes;   // every container of the env, any host
  RV_DEFINE_MAP(env, num, subnet, aead, send_epoch, keys, routes);
};

struct OverlayView {
  static constexpr const char* kType = "overlay.view";
  std::string host_id;
  uint32_t host_num = 0;
  std::string pod_cidr;
  int32_t port = 0;                    // overlayd's UDP port on every host
  std::vector<OverlayHost> hosts;      // hosts that carry a route of one of `envs`
  std::vector<OverlayEnv> envs;        // only envs with a container on this host
  int64_t version = 0;                 // grows with every overlay change in sauron
  // Pod-wide: what a container may reach on its gateway 169.254.1.1 ("tcp/N",
  // "udp/N"; sauron --overlay-gateway-ports). Empty: ICMP echo only.
  std::vector<std::string> gateway_ports;
  RV_DEFINE_MAP(host_id, host_num, pod_cidr, port, hosts, envs, version, gateway_ports);
};

// The new epoch's AEAD is chosen again from the hosts up at rotation time
// (AES-256-GCM only if all of them, and every host running a container of the
// env, reported AES-NI), unless `aead` forces one.
struct RotateKey {
  static constexpr const char* kType = "admin.rotate_key";
  std::string env;
  std::string aead;                    // "" = choose; aes256gcm | chacha20poly1305 = force
  RV_DEFINE_MAP(env, aead);
};
struct RotateKeyResult {
  static constexpr const char* kType = "rotate_key_result";
  uint32_t new_epoch = 0;
  uint32_t old_epoch = 0;
  int64_t switch_at_ms = 0;            // wall ms when senders move to new_epoch
  int64_t forget_old_at_ms = 0;        // wall ms when old_epoch is dropped
  std::string new_aead;                // the new epoch's AEAD
  std::string old_aead;                // the old epoch's AEAD
  RV_DEFINE_MAP(new_epoch, old_epoch, switch_at_ms, forget_old_at_ms, new_aead, old_aead);
};

// Operators and tests: every environment's subnet, epochs (never keys) and
// routes (admin.overlay; env "" = all).
struct OverlayListRequest {
  static constexpr const char* kType = "admin.overlay";
  std::string env;
  RV_DEFINE_MAP(env);
};
struct OverlayListing {
  static constexpr const char* kType = "overlay_listing";
  std::vector<OverlayEnv> envs;
  RV_DEFINE_MAP(envs);
};

}  // namespace rv::msg
