#include "strider/container/console_input.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rv::container {

ConsoleInputs::~ConsoleInputs() {
  for (auto& [id, in] : inputs_)
    if (in.fd >= 0) close(in.fd);
}

void ConsoleInputs::Register(const std::string& job_id, int write_fd) {
  std::lock_guard<std::mutex> l(mu_);
  auto& in = inputs_[job_id];
  if (in.fd >= 0) close(in.fd);
  in = Input{write_fd, 0};
}

void ConsoleInputs::Unregister(const std::string& job_id) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = inputs_.find(job_id);
  if (it == inputs_.end()) return;
  if (it->second.fd >= 0) close(it->second.fd);
  inputs_.erase(it);
}

Status ConsoleInputs::Write(const std::string& job_id, int64_t seq, const std::string& data, bool eof) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = inputs_.find(job_id);
  if (it == inputs_.end()) return Status::NotFound("no command of job " + job_id.substr(0, 80) + " reads input here");
  Input& in = it->second;
  if (seq <= in.seq) return Status::Ok();  // written before: its answer was lost
  if (seq != in.seq + 1) {
    return Status::Invalid("input chunk " + std::to_string(seq) + " came before chunk " + std::to_string(in.seq + 1));
  }
  if (in.fd < 0) return Status::Invalid("the command's input was closed (end of input)");
  if (!data.empty()) {
    // Whole or not at all: room = the pipe's size less what the app has not read.
    int size = fcntl(in.fd, F_GETPIPE_SZ);
    int unread = 0;
    if (size < 0 || ioctl(in.fd, FIONREAD, &unread) != 0) return Status::Internal(std::string("input pipe: ") + strerror(errno));
    if (static_cast<int64_t>(data.size()) > size - unread) {
      return Status::Unavailable("the command has not read its earlier input yet");
    }
    ssize_t n = write(in.fd, data.data(), data.size());
    if (n < 0 && errno == EPIPE) return Status::NotFound("the command has ended (its input is closed)");
    if (n != static_cast<ssize_t>(data.size())) {
      return Status::Internal("input pipe: wrote " + std::to_string(n) + " of " + std::to_string(data.size()) + " bytes");
    }
  }
  in.seq = seq;
  if (eof) {
    close(in.fd);
    in.fd = -1;
  }
  return Status::Ok();
}

}  // namespace rv::container
