#include "cli/console_input.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

#include "common/crypto/sealed_box.h"
#include "common/msg/logs.h"

namespace rv::cli {

bool InputPump::SendOne(msg::JobInputRequest& r, const std::atomic<bool>& stop) {
  // Backing off to 10 x retry_ms: a job that takes a minute to start (an
  // image pull) is asked a minute's worth of times, not six hundred.
  int wait_ms = retry_ms_;
  for (;;) {
    Status s = send_(r);
    if (s.ok()) return true;
    if (s.code() == Status::Code::kNotFound) return false;  // the command has ended: nothing to say
    if (s.code() != Status::Code::kUnavailable) {
      say_("rv: the command's input stopped: " + s.message());
      return false;
    }
    // Not yet: wait, then the same chunk again (the host writes it once).
    for (int waited = 0; waited < wait_ms; waited += 10) {
      if (stop) return false;
      usleep(10000);
    }
    wait_ms = std::min(wait_ms * 2, retry_ms_ * 10);
  }
}

void InputPump::Run(const std::atomic<bool>& stop) {
  std::string buf(static_cast<size_t>(msg::kMaxInputChunkBytes), '\0');
  while (!stop) {
    pollfd p{fd_, POLLIN, 0};
    int ready = poll(&p, 1, 100);
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) continue;
    ssize_t n = ready < 0 ? -1 : read(fd_, buf.data(), buf.size());
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    msg::JobInputRequest r;
    r.job_id = job_id_;
    r.seq = seq_ + 1;
    r.eof = n <= 0;  // the end of the input, or it cannot be read any more
    if (n > 0) r.data.assign(buf.data(), static_cast<size_t>(n));
    bool sent = SendOne(r, stop);
    crypto::Wipe(r.data);
    if (!sent) break;
    seq_ = r.seq;
    if (r.eof) break;
  }
  crypto::Wipe(buf);
}

void InputPump::Start() {
  th_ = std::thread([this] { Run(stop_); });
}

void InputPump::Stop() {
  stop_ = true;
  if (th_.joinable()) th_.join();
}

InputSend SauronInputSend(std::shared_ptr<transport::RpcClient> rpc, int answer_ms) {
  return [rpc, answer_ms](const msg::JobInputRequest& r) -> Status {
    msg::LogReadStarted started;
    Status s = rpc->Call(r, &started, std::chrono::milliseconds(3000));
    if (!s.ok()) return s;
    for (int waited = 0; waited <= answer_ms; waited += 20) {
      msg::LogChunk answer;
      if (Status f = rpc->Call(msg::LogFetchRequest{started.token}, &answer, std::chrono::milliseconds(3000)); !f.ok()) {
        return f.code() == Status::Code::kNotFound ? Status::Unavailable("its answer expired") : f;
      }
      if (answer.ready) {
        // The host could not write it (busy, or the command is still
        // starting or already ending): again, until the caller stops.
        return answer.error.empty() ? Status::Ok() : Status::Unavailable(answer.error);
      }
      usleep(20000);
    }
    return Status::Unavailable("no answer from the job's host (sent again)");
  };
}

}  // namespace rv::cli
