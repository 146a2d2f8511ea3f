// Listen ports for the test pods and benchmarks that run side by side
// (ctest -j, the shell pod tests, a benchmark during a test run).
//
// A port found by binding :0 and closing the socket comes from the kernel's
// ephemeral range, where any outgoing connection on the machine may take it
// before the daemon it was meant for binds it; an elrond that could not bind
// left a CI run's jobs pending. These ports come from below that range, so no
// connect() ever takes one, and in blocks that concurrent processes reserve
// with flock(2), so two tests never get the same one.
#pragma once

#include <string>

namespace rv::transport {

// Ports [kTestPortBase + kTestPortBlock * k, ... + kTestPortBlock) form block k.
// test/integration/test_ports.bash reserves blocks with the same layout.
inline constexpr int kTestPortBase = 20000;
inline constexpr int kTestPortBlock = 32;
inline constexpr int kTestPortBlocks = 380;  // up to 32160, under 32768

// Where the block locks live: one file per block, locked while reserved.
inline constexpr const char* kTestPortLockDir = "/tmp/rv-test-ports";

// `count` (1..kTestPortBlock) consecutive TCP ports nothing on this machine
// listens on, reserved for this process until it exits; returns the first.
// They are the next ports of this process's block (a block is reserved on
// first use, another when the rest of it is too short or taken by something
// outside the scheme). Returns 0 if no block can be locked. Thread-safe.
int ReserveTestPorts(int count);

// One port, as above; if no block can be locked, a port the kernel picked
// on 127.0.0.1 (with the race described at the top).
int ReserveTestPort();

}  // namespace rv::transport
