#include "overlay/tun.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace rv::overlay {

Result<Tun> Tun::Open(const std::string& name, bool offload, int queues) {
  if (name.empty() || name.size() >= IFNAMSIZ) return Status::Invalid("bad tun name");
  if (queues < 1) return Status::Invalid("a TUN needs at least one queue");
  Tun t({}, name);
  for (int q = 0; q < queues; q++) {
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return Status::Io(std::string("open /dev/net/tun: ") + strerror(errno));
    t.fds_.push_back(fd);  // closed by t on any error below
    ifreq ifr{};
    strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR | (queues > 1 ? IFF_MULTI_QUEUE : 0);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0)
      return Status::Io("TUNSETIFF " + name + " (queue " + std::to_string(q) + "): " + strerror(errno));
    t.name_ = ifr.ifr_name;
  }
  // Offloads belong to the device, not to a queue.
  unsigned off = offload ? (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) : 0;
  if (ioctl(t.fds_[0], TUNSETOFFLOAD, off) < 0) return Status::Io("TUNSETOFFLOAD " + name + ": " + strerror(errno));
  return t;
}

void Tun::Close() {
  for (int fd : fds_) close(fd);
  fds_.clear();
}

Tun& Tun::operator=(Tun&& o) noexcept {
  if (this != &o) {
    Close();
    fds_ = std::move(o.fds_);
    name_ = std::move(o.name_);
    o.fds_.clear();
  }
  return *this;
}

Tun::~Tun() { Close(); }

}  // namespace rv::overlay
