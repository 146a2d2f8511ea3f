// ProxyRunDir: an environment proxy's run dir on the host, and its master
// CLI (contract).
//
// The proxy's container has this directory at /run/proxy and writes it
// (HAProxy binds its master socket there), and a container may be hostile:
// it can replace any entry with a link, a file or a socket of its own. The
// strider works here as root, so a link followed would make it chown, write
// or remove a host file. Hence every operation goes through a descriptor of
// the directory, never through a path the container can change:
//
//  1. The directory and certs/ are opened O_DIRECTORY|O_NOFOLLOW and chowned
//     by descriptor. A certs/ that is not a directory (a link, a file) is
//     removed and made again, at open and before each write into it.
//  2. A file is written as a fresh temporary (O_CREAT|O_EXCL|O_NOFOLLOW,
//     after removing whatever had its name) and renamed over its name, both
//     relative to the descriptor: renaming replaces a planted link, never
//     follows it.
//  3. The master socket is opened O_PATH|O_NOFOLLOW, must be a socket, and is
//     connected to through /proc/self/fd: a link to another host socket (say,
//     another environment's proxy) is refused.
//  4. A master CLI command has one deadline for connect, send and the whole
//     answer, and the answer is capped: a master that drips or floods cannot
//     hold the strider's proxy thread.
//
// The directory's own path is the strider's (its parent is root-owned), so
// only the names inside it are the container's. Names are "NAME" or
// "certs/NAME"; anything else is refused.
//
// Owns its descriptor. Thread-safety: the const methods may be called from
// several threads at once (each opens what it needs relative to the
// descriptor); moving is not concurrent with them.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "common/status.h"

namespace rv::strider {

class ProxyRunDir {
 public:
  static constexpr size_t kMaxAnswerBytes = 1 << 20;

  // Creates `path` if absent (mode 0700, parent must exist), and certs/ in it,
  // both owned by uid:gid.
  static Result<ProxyRunDir> Open(const std::string& path, uint32_t uid, uint32_t gid);

  ProxyRunDir() = default;
  ~ProxyRunDir();
  ProxyRunDir(ProxyRunDir&& o) noexcept;
  ProxyRunDir& operator=(ProxyRunDir&& o) noexcept;
  ProxyRunDir(const ProxyRunDir&) = delete;
  ProxyRunDir& operator=(const ProxyRunDir&) = delete;

  bool is_open() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }

  // Writes `content` at `rel`, owned by the proxy's user, mode `mode`.
  Status Write(const std::string& rel, const std::string& content, mode_t mode) const;
  // Removes `rel` (whatever it is; a link is removed, not followed). Absent is ok.
  Status Remove(const std::string& rel) const;
  // True if `rel` is a regular file (a link to one is not).
  bool HasFile(const std::string& rel) const;
  // Sends `cmd` to the HAProxy master listening on master.sock, half-closes,
  // and returns everything it answers before it closes, all within
  // timeout_ms. The command line may carry a key: the copy made is wiped.
  Result<std::string> MasterCommand(const std::string& cmd, int timeout_ms) const;

 private:
  ProxyRunDir(int fd, std::string path, uint32_t uid, uint32_t gid) : fd_(fd), path_(std::move(path)), uid_(uid), gid_(gid) {}
  // The directory `rel` is in, opened (certs/ made again if it is not a
  // directory); its leaf name in *leaf. The caller closes the result unless
  // it is fd_.
  Result<int> Parent(const std::string& rel, std::string* leaf) const;

  int fd_ = -1;
  std::string path_;
  uint32_t uid_ = 0, gid_ = 0;
};

}  // namespace rv::strider
