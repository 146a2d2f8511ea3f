// AppLock: one deploy, rollback or scale of an app at a time on this machine
// (rv-deploy and rv take it), so two rollouts never fight over one app's jobs.
// An flock on <pod_dir>/deploy-locks/<app with / as .>.lock, released when the
// object dies or the process does (kill -9 included). Waits, saying so once.
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>

#include "common/status.h"

namespace rv::deploy {

class AppLock {
 public:
  AppLock() = default;
  AppLock(const AppLock&) = delete;
  AppLock& operator=(const AppLock&) = delete;
  ~AppLock() {
    if (fd_ >= 0) close(fd_);
  }
  Status Take(const std::string& pod_dir, const std::string& app, int64_t wait_ms,
              const std::function<void(const std::string&)>& say) {
    std::string dir = pod_dir + "/deploy-locks";
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    std::string name = app;
    std::replace(name.begin(), name.end(), '/', '.');
    fd_ = open((dir + "/" + name + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) return Status::Io("cannot open the deploy lock of " + app + " in " + dir);
    if (flock(fd_, LOCK_EX | LOCK_NB) == 0) return Status::Ok();
    say("-----> Another deploy of " + app + " is running; waiting for it");
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
    while (std::chrono::steady_clock::now() < end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      if (flock(fd_, LOCK_EX | LOCK_NB) == 0) return Status::Ok();
    }
    return Status::Conflict("another deploy of " + app + " is still running after " + std::to_string(wait_ms / 1000) + " s");
  }

 private:
  int fd_ = -1;
};

}  // namespace rv::deploy
