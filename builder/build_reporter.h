// BuildReporter: a build job's output, sent to its build record in sauron as
// it comes (admin.build_append as the host the job is placed on; sauron
// checks that the job is placed there: common/build_job.h).
//
// Contract:
//  * Add(line) never blocks on the network: lines are queued and a thread of
//    its own sends them in chunks (OutputBatcher: at most every 100 ms, or at
//    once past 64 KiB; a chunk is at most 200000 bytes).
//  * Close() sends what is queued (the last line is the result or error line
//    rv-deploy waits for) and waits for it at most `close_timeout`; later
//    Add()s are dropped.
//  * Failures never fail the build: the first is printed to stderr, the
//    output stays in the job's log on the host.
//  * Add/Close are thread-safe; the batcher is pure and single-threaded.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/status.h"

namespace rv::builder {

class OutputBatcher {
 public:
  static constexpr size_t kMaxChunk = 200000;
  static constexpr size_t kFlushBytes = 64 * 1024;
  static constexpr int64_t kFlushMs = 100;

  void Add(const std::string& line) { pending_ += line + "\n"; }
  // The next chunk to send at `now_ms`, if one is due (or `force`).
  std::optional<std::string> Take(int64_t now_ms, bool force);
  bool empty() const { return pending_.empty(); }

 private:
  std::string pending_;
  int64_t last_ms_ = 0;
};

struct ReporterOptions {
  std::string sauron;          // API endpoint
  std::string server_key;      // sauron's public key, Z85
  std::string key_file;        // this host's key pair
  std::string job_id;
  std::string app;
  int64_t build = 0;
  std::chrono::milliseconds close_timeout{10000};
};

class BuildReporter {
 public:
  static Result<std::unique_ptr<BuildReporter>> Start(const ReporterOptions& o);
  ~BuildReporter();
  void Add(const std::string& line);
  void Close();

 private:
  explicit BuildReporter(ReporterOptions o) : o_(std::move(o)) {}
  void Run(std::string public_key, std::string secret_key);

  ReporterOptions o_;
  std::mutex mu_;
  std::condition_variable cv_;
  OutputBatcher batcher_;
  bool closing_ = false;
  std::thread thread_;
};

}  // namespace rv::builder
