#include "overlay/tun.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rv::overlay {

Result<Tun> Tun::Open(const std::string& name, bool offload) {
  if (name.empty() || name.size() >= IFNAMSIZ) return Status::Invalid("bad tun name");
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return Status::Io(std::string("open /dev/net/tun: ") + strerror(errno));
  ifreq ifr{};
  strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR;
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int e = errno;
    close(fd);
    return Status::Io("TUNSETIFF " + name + ": " + strerror(e));
  }
  unsigned off = offload ? (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) : 0;
  if (ioctl(fd, TUNSETOFFLOAD, off) < 0) {
    int e = errno;
    close(fd);
    return Status::Io("TUNSETOFFLOAD " + name + ": " + strerror(e));
  }
  return Tun(fd, ifr.ifr_name);
}

Tun& Tun::operator=(Tun&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) close(fd_);
    fd_ = o.fd_;
    name_ = std::move(o.name_);
    o.fd_ = -1;
  }
  return *this;
}

Tun::~Tun() {
  if (fd_ >= 0) close(fd_);
}

}  // namespace rv::overlay
