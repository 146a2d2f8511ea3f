#include "cli/log_group.h"

#include <algorithm>

#include "cli/output.h"
#include "common/msg/logs.h"

namespace rv::cli {

void LogGroup::Update(const std::vector<std::string>& ids) {
  for (auto& j : jobs_) {
    j->leaving = std::find(ids.begin(), ids.end(), j->log.job_id()) == ids.end();
  }
  for (const auto& id : ids) {
    bool known = std::any_of(jobs_.begin(), jobs_.end(), [&](const auto& j) { return j->log.job_id() == id; });
    if (known) continue;
    // A job that started after the first listing is read from its start.
    int64_t from = updated_ ? msg::kMaxLogChunkBytes : tail_bytes_;
    jobs_.push_back(std::unique_ptr<Job>(new Job{RemoteLog(calls_, id, from), make_sink_(id)}));
    if (updated_) notes_ << "rv: following " << Printable(id) << "\n" << std::flush;
  }
  updated_ = true;
}

Result<bool> LogGroup::Step(bool stop_at_error) {
  bool news = false;
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    Job& j = **it;
    auto chunk = j.log.Step();
    if (!chunk.ok()) {
      if (stop_at_error) return chunk.status();
      if (!j.warned) notes_ << "rv: " << Printable(chunk.status().message()) << (j.leaving ? "\n" : " (still trying)\n");
      j.warned = true;
    } else {
      j.warned = false;
      if (chunk->gap) notes_ << "rv: part of " << Printable(j.log.job_id()) << "'s log was rotated away before it was read\n";
      if (!chunk->data.empty()) {
        j.sink(chunk->data);
        news = true;
      }
    }
    if (j.leaving) {
      j.sink("");  // the end: its last line, if it had no newline
      it = jobs_.erase(it);
    } else {
      ++it;
    }
  }
  notes_ << std::flush;
  return news;
}

void LogGroup::Finish() {
  for (auto& j : jobs_) j->sink("");
}

}  // namespace rv::cli
