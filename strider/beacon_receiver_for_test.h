// A UDP socket on loopback standing in for sauron's beacon port, for the
// strider's tests (beacon_pump_test, agent_test).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/transport/loopback.h"

namespace rv::strider::testing {

struct BeaconPort {
  int fd = -1;
  int port = 0;
  BeaconPort() { fd = transport::BindLoopback(SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, &port); }
  ~BeaconPort() { close(fd); }
  BeaconPort(const BeaconPort&) = delete;
  BeaconPort& operator=(const BeaconPort&) = delete;
  // Datagrams received so far (and consumed).
  int Drain() {
    int n = 0;
    char buf[64];
    while (recv(fd, buf, sizeof buf, 0) > 0) n++;
    return n;
  }
};

}  // namespace rv::strider::testing
