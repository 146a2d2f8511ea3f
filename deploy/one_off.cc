#include "deploy/one_off.h"

#include <cstdlib>

#include "common/console_job.h"
#include "deploy/rollout.h"

namespace rv::deploy {

msg::JobSpec OneOffJob(const msg::ReleaseRecord& r, const std::string& command_line, const RolloutOptions& o,
                       const std::string& nonce) {
  msg::JobSpec j = JobFor(r, kOneOffType, 1, o, nonce);
  j.kind = kConsoleJobKind;
  j.command = CommandFor(command_line);
  j.restart = "never";
  j.port = 0;
  j.rules.ha = false;
  j.health = {};
  return j;
}

namespace {

// "on h2: running" once it has a host, else "pending (why)": said when it changes.
std::string WhereItIs(const msg::JobRecord& r) {
  if (r.state == "placed" || r.state == "stopped") return "on " + r.host_id + (r.run_state.empty() ? "" : ": " + r.run_state);
  return r.state + (r.reason.empty() ? "" : " (" + r.reason + ")");
}

}  // namespace

std::optional<int> ExitCodeOf(const std::string& d) {
  auto number = [&](size_t at) -> std::optional<int> {
    size_t end = at;
    while (end < d.size() && end - at < 4 && d[end] >= '0' && d[end] <= '9') ++end;
    if (end == at) return std::nullopt;
    return std::atoi(d.substr(at, end - at).c_str());
  };
  if (d.rfind("code ", 0) == 0) return number(5);
  if (d.rfind("signal ", 0) == 0) {
    auto s = number(7);
    return s ? std::optional<int>(128 + *s) : std::nullopt;
  }
  if (d.rfind("oom-killed", 0) == 0) return 137;
  return std::nullopt;
}

Result<int> RunOneOff(RolloutIo& io, const msg::JobSpec& job, const OneOffOptions& o, const LogStep& log_step,
                      const std::function<void(const std::string&)>& output, const Progress& progress,
                      const std::function<bool()>& interrupted) {
  if (Status s = io.Submit({job}); !s.ok()) return Status::Unavailable("cannot start the command: " + s.message());
  const std::string& id = job.id;
  const int64_t start_deadline = io.NowMs() + o.start_timeout_ms;
  const int64_t run_deadline = o.max_run_ms > 0 ? io.NowMs() + o.max_run_ms : INT64_MAX;
  std::string said;        // the last state told
  bool started = false;    // its log may exist
  auto read_log = [&](bool* more) {
    *more = false;
    auto c = log_step();
    if (!c.ok()) return;  // not written yet, or a step that timed out: the next one asks again
    if (c->gap) progress("       (some output was rotated away before it was read)");
    if (!c->data.empty()) {
      output(c->data);
      *more = true;
    }
  };
  Result<int> result = Status::Unavailable("unset");
  for (;;) {
    if (interrupted()) {
      result = Status::Unavailable("interrupted: the command's job " + id + " is stopped");
      break;
    }
    auto all = io.Jobs();
    if (!all.ok()) {
      result = all.status();
      break;
    }
    const msg::JobRecord* r = FindJob(*all, id);
    if (r == nullptr || r->state == "stopped") {
      result = Status::Unavailable("the command's job " + id + " was stopped");
      break;
    }
    std::string now = WhereItIs(*r);
    if (now != said) progress("       " + id + " " + now);
    said = now;
    started = started || (r->state == "placed" && !r->run_state.empty() && r->run_state != "starting");
    bool ended = r->state == "placed" && (r->run_state == "exited" || r->run_state == "failed");
    if (started) {
      bool more = true;
      // Everything written so far; after the end, everything.
      for (int i = 0; more && i < (ended ? 1000 : 16); ++i) read_log(&more);
    }
    if (ended) {
      auto code = ExitCodeOf(r->run_detail);
      if (code) {
        result = *code;
      } else {
        result = Status::Invalid("the command did not run: " + r->run_state +
                                 (r->run_detail.empty() ? "" : " (" + r->run_detail + ")"));
      }
      break;
    }
    if (!started && io.NowMs() >= start_deadline) {
      result = Status::Unavailable("the command did not start within " + std::to_string(o.start_timeout_ms / 1000) +
                                   " s (" + now + ")");
      break;
    }
    if (io.NowMs() >= run_deadline) {
      result = Status::Unavailable("the command did not finish within " + std::to_string(o.max_run_ms / 1000) +
                                   " s: it is stopped");
      break;
    }
    io.SleepMs(o.poll_ms);
  }
  (void)io.Stop({id});
  return result;
}

Result<std::string> StartDetached(RolloutIo& io, msg::JobSpec job, const OneOffOptions& o, const Progress& progress) {
  job.config[kRunDetachedVar] = "1";
  const std::string id = job.id;
  std::vector<msg::JobSpec> jobs;
  jobs.push_back(std::move(job));
  if (Status s = io.Submit(std::move(jobs)); !s.ok()) return Status::Unavailable("cannot start the command: " + s.message());
  const int64_t deadline = io.NowMs() + o.start_timeout_ms;
  std::string said;
  for (;;) {
    auto all = io.Jobs();
    if (!all.ok()) return all.status();
    const msg::JobRecord* r = FindJob(*all, id);
    if (r == nullptr) return Status::Unavailable("the command's job " + id + " is gone");
    std::string now = WhereItIs(*r);
    if (now != said) progress("       " + id + " " + now);
    said = now;
    const bool ran = !r->run_state.empty() && r->run_state != "starting";
    if (ran && r->run_state == "failed" && !ExitCodeOf(r->run_detail)) {
      return Status::Invalid("the command did not run: " + r->run_detail);
    }
    if (ran) return r->host_id;
    if (r->state == "stopped") return Status::Unavailable("the command's job " + id + " was stopped");
    if (io.NowMs() >= deadline) {
      (void)io.Stop({id});
      return Status::Unavailable("the command did not start within " + std::to_string(o.start_timeout_ms / 1000) +
                                 " s (" + now + "): it is stopped");
    }
    io.SleepMs(o.poll_ms);
  }
}

Status RunReleasePhase(RolloutIo& io, const msg::ReleaseRecord& target, const RolloutOptions& o,
                       const Progress& progress, const std::function<LogStep(const std::string& job_id)>& logs_of) {
  auto it = target.process_types.find("release");
  if (it == target.process_types.end()) return Status::Ok();
  progress("-----> Running release command: " + it->second);
  msg::JobSpec job = JobFor(target, "release", 1, o, Nonce());
  OneOffOptions oo;
  oo.start_timeout_ms = o.release_phase_timeout_ms;
  oo.max_run_ms = o.release_phase_timeout_ms;
  oo.poll_ms = o.poll_ms;
  std::string partial;  // its output, said a whole line at a time
  auto output = [&](const std::string& chunk) {
    partial += chunk;
    size_t start = 0, nl;
    while ((nl = partial.find('\n', start)) != std::string::npos) {
      progress("       " + partial.substr(start, nl - start));
      start = nl + 1;
    }
    partial.erase(0, start);
  };
  auto code = RunOneOff(io, job, oo, logs_of(job.id), output, progress, [] { return false; });
  if (!partial.empty()) progress("       " + partial);
  if (!code.ok()) return Status::Unavailable("the release command " + job.id + ": " + code.status().message());
  if (*code != 0) return Status::Invalid("the release command failed (exit code " + std::to_string(*code) + ")");
  return Status::Ok();
}

}  // namespace rv::deploy
