// LogGroup: the logs of a changing set of jobs, read through sauron a step at
// a time (RemoteLog), as `rv logs APP -f` and `rv logs APP --router -f`
// follow them: an app's replicas come and go with every deploy and one-off,
// a proxy is re-placed, and the reader must see the new ones without being
// started again (as `heroku logs --tail` shows new dynos).
//
// Contract:
//  * Update(ids): the jobs to read from now on. Those of the first Update are
//    read from their last `tail_bytes`; one that appears later from its
//    start (the first msg::kMaxLogChunkBytes of a just-started job's log),
//    and `notes` says it is followed. One no longer listed is read once more
//    (what it wrote before it stopped), then its sink is ended (an empty
//    chunk: "end your last partial line") and it is dropped.
//  * Step(): one step of every job in turn, their data passed to each job's
//    own sink (make_sink(id)); true if any had data. A job that cannot be
//    read is said once on `notes` (until it can be again) and tried again on
//    the next Step; with `stop_at_error`, that error is returned instead.
//  * Finish(): ends every job's sink (an empty chunk).
//  * I/O is injected: the Calls every RemoteLog uses, the sinks, `notes`.
//    Not thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "cli/remote_log.h"

namespace rv::cli {

class LogGroup {
 public:
  using Sink = std::function<void(const std::string&)>;

  LogGroup(RemoteLog::Calls calls, int64_t tail_bytes, std::function<Sink(const std::string& job_id)> make_sink,
           std::ostream& notes)
      : calls_(std::move(calls)), tail_bytes_(tail_bytes), make_sink_(std::move(make_sink)), notes_(notes) {}

  void Update(const std::vector<std::string>& ids);
  Result<bool> Step(bool stop_at_error);
  void Finish();
  size_t size() const { return jobs_.size(); }

 private:
  struct Job {
    RemoteLog log;
    Sink sink;
    bool warned = false;
    bool leaving = false;  // no longer listed: one more step, then dropped
  };

  RemoteLog::Calls calls_;
  int64_t tail_bytes_;
  std::function<Sink(const std::string&)> make_sink_;
  std::ostream& notes_;
  std::vector<std::unique_ptr<Job>> jobs_;
  bool updated_ = false;
};

}  // namespace rv::cli
