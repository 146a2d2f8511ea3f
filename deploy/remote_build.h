// A push's build as an auctioned job (issue 17 item 3; docs/DEPLOY.md
// "Remote builds"): rv-deploy pushes the source tree to the pod's registry as
// a one-layer image, submits a build job (common/build_job.h: kind "build",
// role=build) for the build record it opened, and follows the record's output
// (written by the strider that won the job) until its `builder: result` or
// `builder: error` line, printing each line as it comes. The job is stopped at
// the end whatever happened, so its host's reservation is released.
//
// RunRemoteBuild is the loop over an injected RemoteBuildIo (tests drive it
// with a fake); SauronRemoteBuildIo is the real one (sauron's admin API and
// the registry). Not thread-safe; one build per call.
#pragma once

#include <functional>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "common/build_job.h"
#include "common/msg/releases.h"
#include "common/status.h"

namespace rv::cli {
class Client;
}

namespace rv::deploy {

class RemoteBuildIo {
 public:
  virtual ~RemoteBuildIo() = default;
  // Pushes `dir` as the one-layer image `repo`:`tag`; returns its manifest digest.
  virtual Result<std::string> PushSource(const std::string& dir, const std::string& repo, const std::string& tag) = 0;
  virtual Status Submit(const msg::JobSpec& job) = 0;
  virtual Result<msg::JobRecord> Job(const std::string& id) = 0;  // NotFound once gone
  virtual Result<msg::BuildOutput> Output(const std::string& app, int64_t number, int64_t offset) = 0;
  virtual Status Stop(const std::string& id) = 0;
  virtual int64_t NowMs() = 0;
  virtual void SleepMs(int ms) = 0;
  virtual bool Cancelled() = 0;
};

struct RemoteBuildOptions {
  std::string stack;                          // "" = the builder's default
  int32_t timeout_s = 900;                    // the build's own limit (the builder kills it)
  int64_t memory_mb = 1024;
  int64_t cpu_millis = 250;   // reserved for placement; the build may use a core
  int64_t placement_timeout_ms = 60000;       // no build host took it by then: fail
  int poll_ms = 50;                           // the build record's output
  int job_poll_every = 4;                     // the job's state: every 4th turn
  std::map<std::string, std::string> env;     // plain config vars (never secrets)
};

struct RemoteBuildOutcome {
  bool ok = false;
  std::string error;                          // !ok: one line
  nlohmann::json result;                      // ok: the builder's result object
  std::string host;                           // where it ran
  double source_push_s = 0, wait_s = 0, build_s = 0;
};

using Say = std::function<void(const std::string&)>;

RemoteBuildOutcome RunRemoteBuild(RemoteBuildIo& io, const std::string& app, int64_t number, const RemoteBuildOptions& o,
                                  const std::string& source_dir, const std::string& nonce, const Say& say);

// The end of a build from its last output line: ok with the result, an
// error, or nullopt-like (ended=false) when the line is neither.
struct LastLine {
  bool ended = false, ok = false;
  std::string error;
  nlohmann::json result;
};
LastLine ParseLastLine(const std::string& line);

// Stops the build jobs of `app` an earlier rv-deploy left (killed mid-build);
// call under the app's deploy lock. Returns how many.
int StopLeftoverBuildJobs(cli::Client& c, const std::string& app);

// The real io: sauron's admin API through `c`, the registry at `registry`
// (over https verified by `registry_ca` and with the push credential
// `registry_auth` when they are given).
std::unique_ptr<RemoteBuildIo> MakeSauronRemoteBuildIo(cli::Client& c, const std::string& registry,
                                                       const std::string& registry_ca, const std::string& registry_auth,
                                                       const std::function<bool()>& cancelled);

}  // namespace rv::deploy
