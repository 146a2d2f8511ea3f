#include "strider/build_workload.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "strider/failed_workload.h"

namespace rv::strider {
namespace {

namespace fs = std::filesystem;

// Only the characters a job id may have (sauron checks), for a dir name.
std::string Safe(const std::string& id) {
  std::string s;
  for (char c : id) s += (isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
  return s.substr(0, 128);
}

Status WriteEnvDir(const std::string& dir, const std::map<std::string, std::string>& vars) {
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(fs::path(dir).parent_path(), ec);
  if (mkdir(dir.c_str(), 0700) != 0) return Status::Io("mkdir " + dir + ": " + strerror(errno));
  for (const auto& [k, v] : vars) {  // names checked by ParseBuildJob: [A-Za-z_][A-Za-z0-9_]*
    std::string p = dir + "/" + k;
    int fd = open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return Status::Io("create " + p + ": " + strerror(errno));
    bool ok = write(fd, v.data(), v.size()) == static_cast<ssize_t>(v.size());
    close(fd);
    if (!ok) return Status::Io("write " + p);
  }
  return Status::Ok();
}

class BuildWorkload : public Workload {
 public:
  BuildWorkload(std::shared_ptr<WorkloadFactory> processes, BuildHostOptions o, StateCallback cb)
      : processes_(std::move(processes)), o_(std::move(o)), cb_(std::move(cb)) {}
  ~BuildWorkload() override { RemoveEnv(); }

  Status Start(const msg::JobSpec& spec, const std::map<std::string, std::string>&) override {
    auto b = build_job::ParseBuildJob(spec);
    if (!b.ok()) return Refuse(spec, b.status().message());
    if (!b->env.empty()) {
      env_dir_ = o_.data_dir + "/builds/env-" + Safe(spec.id);
      if (Status s = WriteEnvDir(env_dir_, b->env); !s.ok()) return Refuse(spec, "build config: " + s.message());
    }
    auto ps = BuilderProcessSpec(spec, o_, env_dir_);
    if (!ps.ok()) return Refuse(spec, ps.status().message());
    inner_ = processes_->Create(*ps, cb_);
    return inner_->Start(*ps, {});  // secrets never reach a build
  }
  void Stop(std::chrono::milliseconds grace) override {
    if (inner_) {
      inner_->Stop(grace);
    } else if (refused_) {
      refused_->Stop(grace);
    }
  }
  void Poll(int64_t now_ms) override {
    if (inner_) inner_->Poll(now_ms);
    if (done()) RemoveEnv();
  }
  RunState state() const override {
    return inner_ ? inner_->state() : refused_ ? refused_->state() : RunState::kNone;
  }
  bool done() const override { return inner_ ? inner_->done() : refused_ ? refused_->done() : false; }

 private:
  Status Refuse(const msg::JobSpec& spec, const std::string& why) {
    RemoveEnv();
    refused_ = FailedWorkload(Status::Invalid("build job refused: " + why), cb_);
    return refused_->Start(spec, {});
  }
  void RemoveEnv() {
    if (env_dir_.empty()) return;
    std::error_code ec;
    fs::remove_all(env_dir_, ec);
    env_dir_.clear();
  }

  std::shared_ptr<WorkloadFactory> processes_;
  BuildHostOptions o_;
  StateCallback cb_;
  std::unique_ptr<Workload> inner_, refused_;
  std::string env_dir_;
};

}  // namespace

int RemoveLeftoverBuildEnvDirs(const std::string& data_dir) {
  std::error_code ec;
  std::vector<fs::path> left;
  for (fs::directory_iterator it(data_dir + "/builds", ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().filename().string().rfind("env-", 0) == 0) left.push_back(it->path());
  }
  int n = 0;
  for (const auto& p : left) {
    std::error_code rec;
    fs::remove_all(p, rec);  // a link is removed, never followed
    if (!rec) ++n;
  }
  return n;
}

Result<msg::JobSpec> BuilderProcessSpec(const msg::JobSpec& build, const BuildHostOptions& o, const std::string& env_dir) {
  auto b = build_job::ParseBuildJob(build);
  if (!b.ok()) return b.status();
  if (o.builder.empty() || access(o.builder.c_str(), X_OK) != 0) {
    return Status::Unavailable("no builder on this host (" + (o.builder.empty() ? std::string("none configured") : o.builder) + ")");
  }
  build_job::BuilderHost h;
  h.builder = o.builder;
  h.registry = o.registry;
  h.registry_ca = o.registry_ca;
  h.registry_auth = o.registry_auth;
  h.state_dir = o.data_dir + "/builder";
  h.work_dir = o.work_dir;
  h.env_dir = env_dir;
  h.report_sauron = o.sauron_api;
  h.report_server_key = o.sauron_public_key;
  h.report_key_file = o.key_file;
  h.job_id = build.id;
  msg::JobSpec p;
  p.id = build.id;
  p.kind = build.kind;
  p.service = build.service;
  p.tenant = build.tenant;
  p.app = build.app;
  p.resources = build.resources;
  p.command = build_job::BuilderArgv(*b, h);
  p.restart = "never";
  return p;
}

std::unique_ptr<Workload> BuildWorkloadFactory::Create(const msg::JobSpec&, StateCallback on_state) {
  return std::make_unique<BuildWorkload>(processes_, o_, std::move(on_state));
}

}  // namespace rv::strider
