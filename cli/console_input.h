// InputPump: `rv run`'s standard input to its one-off (common/msg/job_input.h),
// as `heroku run` passes it: what is typed or piped in reaches the command,
// and the end of it (Ctrl-D, the end of a pipe) closes the command's stdin.
//
// Contract:
//  * Reads `fd` as it comes, at most msg::kMaxInputChunkBytes a chunk, and
//    sends each chunk, numbered from 1, through `send`, one at a time and in
//    order. `send` returns once the job's host answered: Ok (written);
//    Unavailable (not placed or started yet, the command busy reading, an
//    answer lost): the same chunk is sent again after retry_ms (doubling up
//    to 10 x retry_ms while it is refused), so nothing
//    typed is lost or doubled (the host skips a chunk it already wrote);
//    NotFound (the job has ended) ends the pump quietly; anything else ends
//    it, said once through `say`.
//  * The end of `fd` (or a read error) sends a last chunk with eof.
//  * Run() loops on the calling thread until the input ended or `stop`;
//    the caller stops it when the command has ended. Start()/~InputPump run
//    it on a thread of its own and stop and join it.
//  * SauronInputSend: `send` over one sauron connection (admin.job_input,
//    then admin.log_fetch until the host's answer, within answer_ms).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "common/msg/job_input.h"
#include "common/status.h"
#include "common/transport/rpc_client.h"

namespace rv::cli {

using InputSend = std::function<Status(const msg::JobInputRequest&)>;

class InputPump {
 public:
  InputPump(int fd, std::string job_id, InputSend send, std::function<void(const std::string&)> say,
            int retry_ms = 100)
      : fd_(fd), job_id_(std::move(job_id)), send_(std::move(send)), say_(std::move(say)), retry_ms_(retry_ms) {}
  ~InputPump() { Stop(); }
  InputPump(const InputPump&) = delete;
  InputPump& operator=(const InputPump&) = delete;

  void Run(const std::atomic<bool>& stop);
  void Start();
  void Stop();
  int64_t chunks_sent() const { return seq_.load(); }

 private:
  // Sends one chunk until it is answered; false if the pump must end.
  bool SendOne(msg::JobInputRequest& r, const std::atomic<bool>& stop);

  int fd_;
  std::string job_id_;
  InputSend send_;
  std::function<void(const std::string&)> say_;
  int retry_ms_;
  std::atomic<int64_t> seq_{0};
  std::atomic<bool> stop_{false};
  std::thread th_;
};

InputSend SauronInputSend(std::shared_ptr<transport::RpcClient> rpc, int answer_ms = 3000);

}  // namespace rv::cli
