// Steering: keeps a packet on the CPU where it showed up.
//
// overlayd runs one lane (a worker thread pinned to one CPU, with its own UDP
// socket and its own queue of every env's TUN) per CPU. These kernel hooks pick
// the lane for a packet by the CPU the kernel is handling it on:
//   - a datagram from the underlay goes to the socket of the lane on the CPU
//     that received it (the CPU of the NIC's queue; on a veth, the sender's);
//   - a packet a container sends into a TUN goes to the queue of the lane on
//     the CPU the container's send runs on (or, for an answer the kernel makes
//     while a lane writes to the TUN, that lane's own CPU).
// So the thread to wake for a packet is always on the CPU that has it, and
// a request/answer exchange crosses no CPU: on a VM, waking a thread on
// another (idle) vCPU costs an interrupt to a halted vCPU, 30-60 µs here.
//
// lane_cpus[i] is the CPU of lane i. A CPU without a lane maps by hash (UDP)
// or to lane cpu % lanes (TUN).
#pragma once

#include <vector>

#include "common/status.h"

namespace rv::overlay {

// Attaches, to one socket of a SO_REUSEPORT group (whose sockets were bound
// in lane order), the classic BPF program that picks the lane's socket.
Status AttachUdpCpuSteering(int fd, const std::vector<int>& lane_cpus);

// Loads the eBPF program that picks a multiqueue TUN's queue (queues opened
// in lane order). Returns its fd; the caller closes it after attaching.
Result<int> LoadTunCpuSteering(const std::vector<int>& lane_cpus);

// Attaches the program (TUNSETSTEERINGEBPF) to the TUN that `queue_fd` is a
// queue of. The TUN keeps a reference; prog_fd can be closed afterwards.
Status AttachTunSteering(int queue_fd, int prog_fd);

}  // namespace rv::overlay
