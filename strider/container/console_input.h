// ConsoleInputs: the stdin of this host's console jobs (`rv run`'s one-offs),
// by job id (common/msg/job_input.h). A console container's stdin is a FIFO
// whose read end the app gets (Container::Launch); its write end is
// registered here, and the log server writes each chunk rv sent through it.
//
// Contract:
//  * Register takes the write end (non-blocking) and owns it; Unregister (the
//    command ended) or a chunk with eof closes it, and the app reads EOF.
//  * Write writes chunk `seq` only after chunk seq-1: an earlier seq is
//    answered Ok without writing (a resent chunk), a later one is Invalid.
//    A chunk is written whole or not at all: if the pipe lacks the room
//    (the app is not reading), Unavailable, and the sender tries again.
//  * A job not registered (not a console job, not on this host, ended): NotFound.
//  * Thread-safe: containers register from their supervisor threads, the
//    log server writes from its own.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "common/status.h"

namespace rv::container {

class ConsoleInputs {
 public:
  ConsoleInputs() = default;
  ~ConsoleInputs();
  ConsoleInputs(const ConsoleInputs&) = delete;
  ConsoleInputs& operator=(const ConsoleInputs&) = delete;

  void Register(const std::string& job_id, int write_fd);
  void Unregister(const std::string& job_id);
  Status Write(const std::string& job_id, int64_t seq, const std::string& data, bool eof);

 private:
  struct Input {
    int fd = -1;       // -1 once eof closed it
    int64_t seq = 0;   // the last chunk written
  };
  std::mutex mu_;
  std::map<std::string, Input> inputs_;
};

}  // namespace rv::container
