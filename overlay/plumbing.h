// Plumbing: the kernel side of overlayd's isolation design (contract).
//
// Per environment N present on the host:
//   * TUN "rvo-N" (MTU = inner MTU); main table: env subnet -> TUN (so the
//     strict reverse-path check accepts decrypted packets coming out of it);
//   * routing table 10000+N: env subnet -> TUN, each local container /32 ->
//     its veth, and the whole pod range "unreachable": a packet entering from
//     one of this env's interfaces can only reach this env's addresses;
//   * rule "iif rvo-N lookup 10000+N" and, per container veth,
//     "iif <veth> lookup 10000+N" (pref 100, before main).
// Per container (attachment): host veth with 169.254.1.1/32 (the container's
// gateway, identical on every veth), a /32 route in main and in the env table,
// rp_filter=1 on the veth: a container sending with any source other than its
// own address is dropped by the kernel at its veth (its source's reverse route
// points elsewhere). overlayd checks the source again before sealing.
// Gateway filter (iptables chain "rvgw-<veth>", jumped to from INPUT for
// packets entering from the veth): local delivery is for 169.254.1.1 only,
// and there only replies to connections the host opened, ICMP echo, and the
// configured gateway ports (ControlConfig::gateway_ports); any other TCP is
// reset, any other packet answered port-unreachable.
//
// Commands run `ip` (iproute2) without a shell; failures are returned, and
// teardown ignores "already gone" so it can clean debris after a crash.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "overlay/addr.h"
#include "overlay/control.h"

namespace rv::overlay {

inline constexpr uint32_t kTableBase = 10000;
inline constexpr const char* kGateway = "169.254.1.1";

std::string TunName(uint32_t env_id);
Status RunCmd(const std::vector<std::string>& argv, std::string* output = nullptr);
// RunCmd with `input` as the command's stdin (an ip or iptables-restore batch).
Status RunCmdInput(const std::vector<std::string>& argv, const std::string& input, std::string* output = nullptr);
Status WriteSysctl(const std::string& path, const std::string& value);

Status SetupEnvNet(uint32_t env_id, const std::string& tun, const Prefix& subnet, const Prefix& pod,
                   int mtu);
void TeardownEnvNet(uint32_t env_id, const std::string& tun);
Status AttachContainer(uint32_t env_id, const Attachment& a, int mtu,
                       const std::vector<GatewayPort>& gateway_ports = {});
// The same for many containers of one env, with a few batched commands
// (attach_batch.h) instead of ~30 processes each; one Status per attachment.
// If a batch fails, its containers are attached one by one (AttachContainer),
// so each error names its container and the others still attach.
std::vector<Status> AttachContainers(uint32_t env_id, const std::vector<Attachment>& as, int mtu,
                                     const std::vector<GatewayPort>& gateway_ports = {});
// (Re)writes the gateway filter of one attached veth (idempotent).
Status SetGatewayFilter(const std::string& veth, const std::vector<GatewayPort>& gateway_ports);
void DetachContainer(uint32_t env_id, const Attachment& a);

}  // namespace rv::overlay
