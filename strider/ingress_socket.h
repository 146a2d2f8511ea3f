// TakeListeningSocket: a copy of the listening TCP socket another process
// holds at one of its descriptors, taken with pidfd_getfd (Linux 5.6+; the
// caller needs ptrace rights over it: root, as the strider is).
//
// Why: an env proxy's ingress socket is made by the strider and passed to
// HAProxy as its fd 3 (strider/proxy_workload.h). A restarted strider finds
// the proxy running and takes the socket back from HAProxy's master, so it
// can again relay what comes while the container is down, without closing
// what HAProxy serves.
//
// Contract: the copy is returned only if it is a listening IPv4 TCP socket
// bound to addr:port (addr "" = any address); otherwise nothing stays open
// and the Status says why (NotFound: no such process or descriptor).
// Thread-safe (no state).
#pragma once

#include <sys/types.h>

#include <string>

#include "common/status.h"

namespace rv::strider {

Result<int> TakeListeningSocket(pid_t pid, int fd, const std::string& addr, int port);

}  // namespace rv::strider
