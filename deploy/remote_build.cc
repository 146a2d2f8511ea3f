#include "deploy/remote_build.h"

#include <chrono>
#include <random>
#include <thread>

#include "cli/client.h"
#include "common/clock.h"
#include "common/oci/image_writer.h"

namespace rv::deploy {

LastLine ParseLastLine(const std::string& line) {
  static const std::string kResult = "builder: result ", kError = "builder: error ";
  LastLine l;
  if (line.rfind(kError, 0) == 0) {
    l.ended = true;
    l.error = line.substr(kError.size());
    return l;
  }
  if (line.rfind(kResult, 0) != 0) return l;
  l.ended = true;
  try {
    l.result = nlohmann::json::parse(line.substr(kResult.size()));
    if (!l.result.is_object() || !l.result.contains("image") || !l.result["image"].is_string()) {
      l.error = "the builder's result names no image";
    } else {
      l.ok = true;
    }
  } catch (const std::exception& e) {
    l.error = std::string("the builder's result is not JSON: ") + e.what();
  }
  return l;
}

RemoteBuildOutcome RunRemoteBuild(RemoteBuildIo& io, const std::string& app, int64_t number, const RemoteBuildOptions& o,
                                  const std::string& source_dir, const std::string& nonce, const Say& say) {
  RemoteBuildOutcome out;
  const int64_t t0 = io.NowMs();
  build_job::BuildJob b;
  b.app = app;
  b.number = number;
  b.stack = o.stack;
  b.timeout_s = o.timeout_s;
  b.memory_mb = o.memory_mb;
  b.cpu_millis = o.cpu_millis;
  b.env = o.env;
  auto digest = io.PushSource(source_dir, b.SourceRepo(), "b" + std::to_string(number));
  if (!digest.ok()) {
    out.error = "cannot send the source to the registry: " + digest.status().message();
    return out;
  }
  b.source = b.SourceRepo() + "@" + *digest;
  out.source_push_s = (io.NowMs() - t0) / 1000.0;
  msg::JobSpec spec = build_job::MakeBuildJobSpec(b, nonce);
  if (Status s = io.Submit(spec); !s.ok()) {
    out.error = "cannot submit the build job: " + s.message();
    return out;
  }
  const int64_t submitted = io.NowMs();
  int64_t placed_at = 0, placed_attempt = 0;
  std::string running_detail;
  int64_t turn = 0;  // "pid N" of the build's process, as last reported
  // The builder ends the build at its timeout; past that plus a margin the
  // job (or its host) is stuck.
  const int64_t deadline = submitted + o.placement_timeout_ms + int64_t{o.timeout_s} * 1000 + 60000;
  int64_t offset = 0;
  std::string partial, last;
  bool job_ended = false;
  int reads_after_end = 0;
  std::string job_why;
  auto fail = [&](const std::string& why) {
    out.error = why;
    (void)io.Stop(spec.id);
    return out;
  };
  for (;;) {
    if (io.Cancelled()) return fail("cancelled");
    // The output every turn, the job (a listing of the pod's jobs) every
    // job_poll_every turns.
    if (!job_ended && turn++ % std::max(1, o.job_poll_every) == 0) {
      auto j = io.Job(spec.id);
      if (!j.ok()) {
        if (j.status().code() == Status::Code::kNotFound) return fail("the build job " + spec.id + " is gone");
      } else {
        if (j->state == "stopped") return fail("the build job was stopped");
        if (j->state == "placed" && placed_at == 0) {
          placed_at = io.NowMs();
          placed_attempt = j->attempt;
          out.host = j->host_id;
          out.wait_s = (placed_at - submitted) / 1000.0;
          say("-----> Build job won by " + j->host_id);
        } else if (j->state == "placed" && j->attempt != placed_attempt) {
          // Its host was lost mid-build: sauron put it back, elrond placed it again.
          placed_attempt = j->attempt;
          out.host = j->host_id;
          say("-----> Build job placed again on " + j->host_id + " (its host was lost); the build starts over");
          running_detail.clear();
        }
        if (j->state == "placed" && j->run_state == "running") {
          // Same attempt, another process: the host's strider restarted
          // within its grace and started the build again (a build cannot be adopted).
          if (!running_detail.empty() && j->run_detail != running_detail) {
            say("-----> Build job restarted on " + j->host_id + " (its strider restarted); the build starts over");
          }
          running_detail = j->run_detail;
        }
        if (placed_at == 0 && io.NowMs() - submitted > o.placement_timeout_ms) {
          return fail("no build host (role=build) took the build job" + (j->reason.empty() ? "" : ": " + j->reason));
        }
        if (j->run_state == "exited" || j->run_state == "failed") {
          job_ended = true;
          job_why = "the build job on " + j->host_id + " " + j->run_state + (j->run_detail.empty() ? "" : ": " + j->run_detail) +
                    " without a result";
        }
      }
    }
    auto o_ = io.Output(app, number, offset);
    if (o_.ok()) {
      partial += o_->text;
      offset = o_->next_offset;
      size_t nl;
      while ((nl = partial.find('\n')) != std::string::npos) {
        std::string line = partial.substr(0, nl);
        partial.erase(0, nl + 1);
        // The builder's last line is for rv-deploy (the record keeps it); the
        // pusher sees the image and release lines, or "Deploy failed: <reason>".
        if (!ParseLastLine(line).ended) say(line);
        if (!line.empty()) last = line;
      }
      LastLine l = ParseLastLine(last);
      if (l.ended) {
        out.ok = l.ok;
        out.error = l.error;
        out.result = l.result;
        out.build_s = placed_at ? (io.NowMs() - placed_at) / 1000.0 : 0;
        // Its last line is sent after its sandbox is gone: stopping the job
        // now (SIGTERM to a builder that is exiting anyway) costs nothing.
        (void)io.Stop(spec.id);
        return out;
      }
    }
    if (job_ended) {
      // The builder sends its last line before it exits; give the record a
      // few more reads, then say how the job ended.
      if (++reads_after_end > 20) return fail(job_why);
      io.SleepMs(o.poll_ms);
      continue;
    }
    if (io.NowMs() > deadline) return fail("the build job did not finish in time");
    io.SleepMs(o.poll_ms);
  }
}

namespace {

class SauronRemoteBuildIo : public RemoteBuildIo {
 public:
  SauronRemoteBuildIo(cli::Client& c, std::string registry, std::string ca, std::string auth,
                      std::function<bool()> cancelled)
      : c_(c), registry_(std::move(registry)), ca_(std::move(ca)), auth_(std::move(auth)),
        cancelled_(std::move(cancelled)) {}
  Result<std::string> PushSource(const std::string& dir, const std::string& repo, const std::string& tag) override {
    oci::RegistryClient rc(oci::RegistryClient::Options{.registry = registry_, .ca_file = ca_, .auth_file = auth_});
    oci::PushDirOptions po;
    po.repo = repo;
    po.tag = tag;
    po.created_by = "rv-deploy: build source";
    po.labels["rivendell.build-source"] = "1";
    auto r = oci::PushDir(rc, dir, po);
    if (!r.ok()) return r.status();
    return r->manifest_digest;
  }
  Status Submit(const msg::JobSpec& job) override {
    msg::SubmitJobs req;
    req.jobs = {job};
    msg::JobIds ids;
    return c_.Call(req, &ids);
  }
  Result<msg::JobRecord> Job(const std::string& id) override {
    auto l = c_.List("jobs");
    if (!l.ok()) return l.status();
    for (auto& j : l->jobs) {
      if (j.spec.id == id) return std::move(j);
    }
    return Status::NotFound("no job " + id);
  }
  Result<msg::BuildOutput> Output(const std::string& app, int64_t number, int64_t offset) override {
    msg::BuildOutput out;
    if (Status s = c_.Call(msg::BuildOutputRequest{app, number, offset, 1 << 20}, &out); !s.ok()) return s;
    return out;
  }
  Status Stop(const std::string& id) override {
    msg::Outcomes out;
    return c_.Call(msg::StopJobs{{id}}, &out);
  }
  int64_t NowMs() override { return MonotonicMs(); }
  void SleepMs(int ms) override { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }
  bool Cancelled() override { return cancelled_ && cancelled_(); }

 private:
  cli::Client& c_;
  std::string registry_, ca_, auth_;
  std::function<bool()> cancelled_;
};

}  // namespace

int StopLeftoverBuildJobs(cli::Client& c, const std::string& app) {
  auto l = c.List("jobs");
  if (!l.ok()) return 0;
  std::vector<std::string> ids;
  for (const auto& j : l->jobs) {
    auto a = j.spec.config.find(build_job::kApp);
    if (j.spec.kind == build_job::kKind && j.state != "stopped" && a != j.spec.config.end() && a->second == app) {
      ids.push_back(j.spec.id);
    }
  }
  if (ids.empty()) return 0;
  msg::Outcomes out;
  (void)c.Call(msg::StopJobs{ids}, &out);
  return static_cast<int>(ids.size());
}

std::unique_ptr<RemoteBuildIo> MakeSauronRemoteBuildIo(cli::Client& c, const std::string& registry,
                                                       const std::string& registry_ca, const std::string& registry_auth,
                                                       const std::function<bool()>& cancelled) {
  return std::make_unique<SauronRemoteBuildIo>(c, registry, registry_ca, registry_auth, cancelled);
}

}  // namespace rv::deploy
