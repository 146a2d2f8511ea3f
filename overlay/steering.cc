#include "overlay/steering.h"

#include <linux/bpf.h>
#include <linux/filter.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#ifndef SO_ATTACH_REUSEPORT_CBPF
#define SO_ATTACH_REUSEPORT_CBPF 51
#endif

namespace rv::overlay {

Status AttachUdpCpuSteering(int fd, const std::vector<int>& lane_cpus) {
  // A = the CPU handling the datagram; lane i if A is its CPU, else an index
  // past the group, which makes the kernel fall back to its hash.
  std::vector<sock_filter> prog;
  prog.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, uint32_t(SKF_AD_OFF + SKF_AD_CPU)));
  for (size_t i = 0; i < lane_cpus.size(); i++) {
    prog.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, uint32_t(lane_cpus[i]), 0, 1));
    prog.push_back(BPF_STMT(BPF_RET | BPF_K, uint32_t(i)));
  }
  prog.push_back(BPF_STMT(BPF_RET | BPF_K, 0xffffffffu));
  sock_fprog fp{uint16_t(prog.size()), prog.data()};
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &fp, sizeof(fp)) < 0)
    return Status::Io(std::string("SO_ATTACH_REUSEPORT_CBPF: ") + strerror(errno));
  return Status::Ok();
}

namespace {

bpf_insn Insn(uint8_t code, uint8_t dst, int16_t off, int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

}  // namespace

Result<int> LoadTunCpuSteering(const std::vector<int>& lane_cpus) {
  // r0 = this CPU; lane i if it is lane i's CPU; otherwise r0 itself, which
  // the TUN takes modulo its number of queues.
  std::vector<bpf_insn> prog;
  prog.push_back(Insn(BPF_JMP | BPF_CALL, 0, 0, BPF_FUNC_get_smp_processor_id));
  for (size_t i = 0; i < lane_cpus.size(); i++) {
    prog.push_back(Insn(BPF_JMP | BPF_JNE | BPF_K, 0, 2, lane_cpus[i]));
    prog.push_back(Insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, int32_t(i)));
    prog.push_back(Insn(BPF_JMP | BPF_EXIT, 0, 0, 0));
  }
  prog.push_back(Insn(BPF_JMP | BPF_EXIT, 0, 0, 0));
  static const char kLicense[] = "Dual MIT/GPL";
  char log[4096];  // the verifier's reason, asked for only after a refusal
  auto load = [&](bool with_log) {
    bpf_attr attr{};
    attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    attr.insn_cnt = uint32_t(prog.size());
    attr.insns = reinterpret_cast<uint64_t>(prog.data());
    attr.license = reinterpret_cast<uint64_t>(kLicense);
    if (with_log) {
      log[0] = 0;
      attr.log_buf = reinterpret_cast<uint64_t>(log);
      attr.log_size = sizeof(log);
      attr.log_level = 1;
    }
    return int(syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof(attr)));
  };
  int fd = load(false);
  if (fd >= 0) return fd;
  std::string e = std::string("BPF_PROG_LOAD (TUN steering): ") + strerror(errno);
  if (load(true) < 0 && log[0]) e += std::string(" (verifier: ") + log + ")";
  return Status::Io(e);
}

Status AttachTunSteering(int queue_fd, int prog_fd) {
  if (ioctl(queue_fd, TUNSETSTEERINGEBPF, &prog_fd) < 0)
    return Status::Io(std::string("TUNSETSTEERINGEBPF: ") + strerror(errno));
  return Status::Ok();
}

}  // namespace rv::overlay
