// Control inputs of overlayd: everything it needs to know comes in one
// ControlConfig (contract). Today it is read from a local JSON file (polled,
// applied within ~50 ms of a change) or pushed on overlayd's unix socket
// ("apply"); later strider feeds the same document from sauron's change stream.
// The document is the *whole* desired state of this host; overlayd diffs it
// against what it runs, so a repeated or reordered update is harmless.
//
// JSON (every field checked; unknown fields are an error):
// {
//   "host_id": 1,                       // this host (nonce prefix, sender id)
//   "listen": "10.88.0.1:7800",         // underlay UDP endpoint
//   "underlay_mtu": 1500,               // inner MTU = underlay_mtu - kOverhead
//   "pod_cidr": "10.250.0.0/16",        // all overlay addresses
//   "hosts": [{"id": 2, "endpoint": "10.88.0.2:7800"}],
//   "gateway_ports": ["tcp/53", "udp/53"],  // optional: what containers may reach
//                                       // on 169.254.1.1 (default: nothing but ping)
//   "envs": [{
//     "id": 7, "subnet": "10.250.7.0/24",
//     "aead": "aes256gcm",              // the send epoch's AEAD
//     "send_epoch": 2,                  // optional: default newest key
//     "keys": [{"epoch": 2, "sealed": "<hex crypto_box_seal to this host>", "aead": "aes256gcm"},
//              {"epoch": 1, "key": "<hex 32 bytes>"}],   // plain only for tests
//                                       // per-key "aead": optional, default the env's;
//                                       // epochs differ while a rotation switches AEAD
//     "routes": [{"addr": "10.250.7.5", "host": 2}],      // where each container lives
//     "attachments": [{"addr": "10.250.7.4", "veth": "rvh7a",
//                      "netns": "/run/netns/c1", "ifname": "eth0"}]  // local containers
//   }]
// }
// An attachment with "netns" makes overlayd create the veth pair and configure
// the container side; without it the veth must already exist on the host.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "overlay/addr.h"
#include "overlay/keyring.h"

namespace rv::overlay {

// Underlay IPv4 (20) + UDP (8) + our header + AEAD tag + virtio_net_hdr.
inline constexpr int kOverhead = 20 + 8 + 28 + 16 + 10;

struct HostEntry {
  uint32_t id = 0;
  uint32_t addr = 0;
  uint16_t port = 0;
};

struct RouteEntry {
  uint32_t addr = 0;
  uint32_t host_id = 0;
};

struct Attachment {
  uint32_t addr = 0;
  std::string veth;    // host-side interface
  std::string netns;   // "" = veth exists; else name in /run/netns or a path
  std::string ifname = "eth0";
  bool operator==(const Attachment&) const = default;
};

struct EnvConfig {
  uint32_t id = 0;
  Prefix subnet;
  AeadKind aead = AeadKind::kAes256Gcm;
  uint32_t send_epoch = 0;          // 0 = newest key
  std::vector<EnvKey> keys;         // opened
  std::vector<RouteEntry> routes;
  std::vector<Attachment> attachments;
};

// A port a container may reach on its gateway (169.254.1.1, its own host).
struct GatewayPort {
  std::string proto;  // tcp | udp
  uint16_t port = 0;
  bool operator==(const GatewayPort&) const = default;
};
// "tcp/53" -> {tcp, 53}; anything else is an error.
Result<GatewayPort> ParseGatewayPort(const std::string& s);
std::string FormatGatewayPort(const GatewayPort& p);

struct ControlConfig {
  uint32_t host_id = 0;
  uint32_t listen_addr = 0;
  uint16_t listen_port = 0;
  int underlay_mtu = 1500;
  Prefix pod{0, 0};
  std::vector<HostEntry> hosts;
  std::vector<EnvConfig> envs;
  // What a container may reach on its gateway besides ICMP echo and replies
  // to connections the host opened; everything else there is refused.
  std::vector<GatewayPort> gateway_ports;

  int InnerMtu() const { return underlay_mtu - kOverhead; }
};

// Zeroes every key (sodium_memzero) and empties the list.
void WipeKeys(std::vector<EnvKey>* keys);
// WipeKeys of every env.
void WipeKeys(ControlConfig* c);

// host_keys may be null when the document carries no sealed keys.
Result<ControlConfig> ParseControl(const std::string& json_text, const HostKeyPair* host_keys);
Result<std::string> ReadFileText(const std::string& path, size_t max_bytes = 16 << 20);

}  // namespace rv::overlay
