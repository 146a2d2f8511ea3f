// rv-deploy: a push's deploy. Records a build in sauron (with its whole
// output), runs the builder, records the release, runs its `release` command,
// rolls it out, and prints progress as it goes (git shows each line to the
// pusher as "remote: ..."). See docs/DEPLOY.md.
//
//   rv-deploy --app TENANT/ENV/APP --commit SHA --source DIR --user USER
//             [--pod POD.json] [--builder PATH] [--registry HOST:PORT]
//             [--registry-ca FILE] [--registry-auth FILE]
//             [--stack auto|REPO:TAG] [--buildpacks DIR] [--boot-timeout-s 60] [--port 5000]
//             [--build-timeout-s 960] [--local-build] [--build-memory-mb 1024]
//             [--build-placement-timeout-s 60]
//
// The build runs as an auctioned job on a role=build host (remote_build.h)
// unless --local-build or --builder is given (then `builder run` runs here).
//
// Exit 0: the release runs and its number and addresses were printed last.
// Exit 1: the build, the release command or the rollout failed; the last line
// says why and the previous release still runs. Exit 2: bad usage.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>

#include "cli/client.h"
#include "cli/remote_log.h"
#include "common/clock.h"
#include "common/msg/env_config.h"
#include "common/msg/releases.h"
#include "common/proxy_job.h"
#include "common/stop_signal.h"
#include "deploy/app_lock.h"
#include "deploy/one_off.h"
#include "deploy/remote_build.h"
#include "deploy/rollout_driver.h"
#include "deploy/sauron_io.h"
#include "deploy/temp_dir.h"

namespace {

using rv::Status;

void Say(const std::string& line) { std::cout << line << "\n" << std::flush; }

// SIGTERM/SIGINT/SIGHUP (the push cancelled, its connection gone) set the
// stop flag (common/stop_signal.h): a build is cancelled (the builder gets
// SIGTERM, it tears its sandbox down); a rollout that began is finished, so
// the app never stays half rolled out.

int Fail(const std::string& why) {
  Say("-----> Deploy failed: " + why);
  return 1;
}

// The registry scripts/pod started for this pod: DIR/registry/endpoint
// ("HOST:PORT tls|plain", scripts/registry writes it), else config.yml's addr.
// A tls registry is reached with the pod CA and the push credential in DIR/keys.
struct PodRegistry {
  std::string addr;
  bool tls = false;
};
PodRegistry RegistryOf(const std::string& pod_dir) {
  {
    std::ifstream e(pod_dir + "/registry/endpoint");
    std::string addr, mode;
    if (e >> addr >> mode) return {addr, mode == "tls"};
  }
  std::ifstream f(pod_dir + "/registry/config.yml");
  std::string line;
  while (std::getline(f, line)) {
    auto p = line.find("addr:");
    if (p != std::string::npos && line.find_first_not_of(' ') == p) {
      std::string a = line.substr(p + 5);
      a.erase(0, a.find_first_not_of(' '));
      return {a, false};
    }
  }
  return {};
}

std::string BuilderNextToMe() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "builder";
  std::string self(buf, n);
  std::string dir = self.substr(0, self.rfind('/'));
  for (const std::string& c : {dir + "/builder", dir + "/../builder/builder"}) {
    if (access(c.c_str(), X_OK) == 0) return c;
  }
  return "builder";
}

struct BuildResult {
  bool ok = false;
  std::string error;
  nlohmann::json result;
};

// Runs the builder, printing each line as it comes and sending the output to
// the build record in chunks (at most every 250 ms or 64 KiB).
BuildResult RunBuilder(const std::vector<std::string>& argv, int64_t timeout_ms,
                       const std::function<void(const std::string&)>& record) {
  BuildResult br;
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) {
    br.error = "pipe failed";
    return br;
  }
  pid_t pid = fork();
  if (pid < 0) {
    br.error = "fork failed";
    return br;
  }
  if (pid == 0) {
    dup2(p[1], 1);
    dup2(p[1], 2);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    std::vector<char*> a;
    for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    execvp(a[0], a.data());
    std::string m = "builder: error cannot run " + argv[0] + ": " + strerror(errno) + "\n";
    (void)!write(1, m.data(), m.size());
    _exit(127);
  }
  close(p[1]);
  std::string partial, pending, last_line;
  int64_t end = rv::MonotonicMs() + timeout_ms, last_flush = rv::MonotonicMs();
  bool timed_out = false;
  auto flush = [&] {
    if (!pending.empty()) record(pending);
    pending.clear();
    last_flush = rv::MonotonicMs();
  };
  auto line_done = [&](std::string line) {
    if (line.size() > 4096) line = line.substr(0, 4096) + "...";
    // The builder's last line is for rv-deploy: the pusher sees the image and
    // release lines (or "Deploy failed: <its reason>") instead. The record keeps it.
    if (line.rfind("builder: result ", 0) != 0 && line.rfind("builder: error ", 0) != 0) Say(line);
    pending += line + "\n";
    if (!line.empty()) last_line = line;
  };
  char buf[16384];
  bool cancelled = false, reaped = false;
  int status = 0;
  for (;;) {
    int64_t now = rv::MonotonicMs();
    if (now > end || rv::stop_signal::Requested()) {
      timed_out = now > end;
      cancelled = !timed_out;
      // SIGTERM first: the builder stops its container and cleans up.
      kill(pid, SIGTERM);
      int64_t grace = rv::MonotonicMs() + 10000;
      while (rv::MonotonicMs() < grace && !reaped) {
        reaped = waitpid(pid, &status, WNOHANG) == pid;
        if (!reaped) usleep(50 * 1000);
      }
      if (!reaped) kill(pid, SIGKILL);  // never a pid already reaped (it could be reused)
      break;
    }
    pollfd pfd{p[0], POLLIN, 0};
    int r = poll(&pfd, 1, 250);
    if (r > 0) {
      ssize_t n = read(p[0], buf, sizeof buf);
      if (n <= 0) break;
      partial.append(buf, n);
      size_t nl;
      while ((nl = partial.find('\n')) != std::string::npos) {
        line_done(partial.substr(0, nl));
        partial.erase(0, nl + 1);
      }
      if (partial.size() > 4096) {
        line_done(partial);
        partial.clear();
      }
    }
    if (pending.size() >= 64 * 1024 || (rv::MonotonicMs() - last_flush >= 250 && !pending.empty())) flush();
  }
  if (!partial.empty()) line_done(partial);
  flush();
  close(p[0]);
  if (!reaped) waitpid(pid, &status, 0);
  const std::string kResult = "builder: result ", kError = "builder: error ";
  if (cancelled) {
    br.error = "cancelled";
  } else if (timed_out) {
    br.error = "the build took longer than " + std::to_string(timeout_ms / 1000) + " s";
  } else if (last_line.rfind(kError, 0) == 0) {
    br.error = last_line.substr(kError.size());
  } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    br.error = "the builder exited with " +
               (WIFEXITED(status) ? "code " + std::to_string(WEXITSTATUS(status)) : "signal " + std::to_string(WTERMSIG(status)));
  } else if (last_line.rfind(kResult, 0) != 0) {
    br.error = "the builder printed no result line";
  } else {
    try {
      br.result = nlohmann::json::parse(last_line.substr(kResult.size()));
      if (!br.result.is_object() || !br.result.contains("image") || !br.result["image"].is_string()) {
        br.error = "the builder's result names no image";
      } else {
        br.ok = true;
      }
    } catch (const std::exception& e) {
      br.error = std::string("the builder's result is not JSON: ") + e.what();
    }
  }
  return br;
}

std::string Short(const std::string& sha) { return sha.substr(0, 7); }

// The environment's plain config vars: for a build job (vars()) or, for a
// builder run here, also as its ENV_DIR (one file per var, as Heroku gives
// compile) in a 0700 TempDir, removed once the build is over (Release) or
// on any return; a SIGKILLed deploy's is swept by the next (main). Secrets are
// not in it: sauron hands their values only to the host that claims a job,
// sealed to its key.
constexpr char kEnvDirPrefix[] = "rv-deploy-env";
class EnvDir {
 public:
  Status Fill(rv::cli::Client& c, const std::string& env, bool as_dir) {
    rv::msg::ConfigListing l;
    if (Status s = c.Call(rv::msg::ConfigListRequest{env}, &l); !s.ok()) return s;
    for (const auto& v : l.vars) {
      if (!v.secret) vars_[v.name] = v.value;
    }
    if (!as_dir || vars_.empty()) return Status::Ok();
    if (Status s = dir_.Create(rv::deploy::TempRoot(), kEnvDirPrefix); !s.ok()) {
      return Status::Io("cannot make a temp dir for the build's config: " + s.message());
    }
    for (const auto& [name, value] : vars_) {
      std::ofstream f(dir_.path() + "/" + name, std::ios::binary);  // names are [A-Za-z_][A-Za-z0-9_]* (sauron checks)
      f << value;
      if (!f) return Status::Io("cannot write the build's config var " + name);
    }
    return Status::Ok();
  }
  // The ENV_DIR, empty when there is none (no plain var, or a build job).
  const std::string& path() const { return dir_.path(); }
  const std::map<std::string, std::string>& vars() const { return vars_; }
  void Release() { dir_.Remove(); }

 private:
  std::map<std::string, std::string> vars_;
  rv::deploy::TempDir dir_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"rv-deploy: build and release an app's pushed commit"};
  const char* env_pod = getenv("RV_POD");
  std::string pod = env_pod && *env_pod ? env_pod : "pod/pod.json";
  std::string app_name, commit, source, user, builder, registry, stack = "auto", buildpacks;
  std::string registry_ca, registry_auth;
  int boot_timeout_s = 60, port = 5000, build_timeout_s = 960, timeout_ms = 5000, build_memory_mb = 1024;
  bool local_build = false;
  int build_placement_timeout_s = 60;
  app.add_option("--app", app_name, "TENANT/ENV/APP")->required();
  app.add_option("--commit", commit, "the pushed commit")->required();
  app.add_option("--source", source, "the commit's tree")->required();
  app.add_option("--user", user, "who pushed")->required();
  app.add_option("--pod", pod, "pod config (default $RV_POD or ./pod/pod.json)");
  app.add_option("--builder", builder, "the builder binary (default: builder next to rv-deploy)");
  app.add_option("--registry", registry, "HOST:PORT (default: the pod's, from <pod_dir>/registry/endpoint)");
  app.add_option("--registry-ca", registry_ca, "CA of an https registry (default for the pod's TLS registry: <pod_dir>/keys/pod-ca.crt)");
  app.add_option("--registry-auth", registry_auth,
                 "credential that may push (default for the pod's TLS registry: <pod_dir>/keys/registry-push.cred)");
  app.add_option("--stack", stack, "stack image REPO:TAG, or auto: the builder picks stack/python for the python buildpack, else stack/busybox")
      ->capture_default_str();
  app.add_option("--buildpacks", buildpacks, "buildpacks directory (default: the builder's)");
  app.add_option("--boot-timeout-s", boot_timeout_s, "roll back when not healthy within this")->check(CLI::Range(1, 3600));
  app.add_option("--port", port, "PORT of web processes")->check(CLI::Range(1, 65535));
  app.add_option("--build-timeout-s", build_timeout_s, "kill the builder after this")->check(CLI::Range(1, 86400));
  app.add_option("--timeout-ms", timeout_ms, "how long to wait for sauron per request");
  app.add_option("--build-placement-timeout-s", build_placement_timeout_s, "fail when no build host took the build job by then")
      ->check(CLI::Range(1, 3600));
  app.add_flag("--local-build", local_build, "run the builder here instead of as a build job on a role=build host");
  app.add_option("--build-memory-mb", build_memory_mb, "a build job's memory (reserved and its limit)")->check(CLI::Range(64, 1 << 20));
  int cpu_millis = static_cast<int>(rv::deploy::RolloutOptions{}.resources.cpu_millis);
  app.add_option("--cpu-millis", cpu_millis, "CPU of each replica, 1000 = one core (its reservation and weight; it may burst to a core)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  CLI11_PARSE(app, argc, argv);
  rv::stop_signal::Install({SIGHUP});
  // These signals end a deploy through main's return, which removes its
  // ENV_DIR; a SIGKILLed deploy's is left behind: remove those (never a live one's).
  if (int n = rv::deploy::SweepOrphanTempDirs(rv::deploy::TempRoot(), kEnvDirPrefix)) {
    std::cerr << "rv-deploy: removed " << n << " config dir(s) of killed deploys from " << rv::deploy::TempRoot() << "\n";
  }

  auto client = rv::cli::Client::Open(pod, timeout_ms);
  if (!client.ok()) return Fail(client.status().message());
  rv::cli::Client& c = **client;
  rv::deploy::AppLock lock;
  if (Status s = lock.Take(c.config().pod_dir, app_name, 15 * 60 * 1000, Say); !s.ok()) return Fail(s.message());
  // Under the lock no other deploy of the app runs: a build still `running`
  // or a deploy's release still `created` belongs to an rv-deploy that died.
  {
    rv::msg::BuildList bl;
    if (c.Call(rv::msg::BuildsRequest{app_name, 20}, &bl).ok()) {
      for (const auto& b : bl.builds) {
        if (b.state != "running") continue;
        (void)c.Call(rv::msg::BuildFinish{app_name, b.number, false, "", "", "interrupted: its deploy ended before the build did"});
        Say("-----> Build #" + std::to_string(b.number) + " was interrupted; recorded as failed");
      }
    }
    if (int n = rv::deploy::StopLeftoverBuildJobs(c, app_name)) {
      Say("-----> Stopped " + std::to_string(n) + " build job(s) an interrupted deploy left");
    }
    rv::msg::ReleaseList rl;
    if (c.Call(rv::msg::ReleasesRequest{app_name, 20}, &rl).ok()) {
      for (const auto& r : rl.releases) {
        if (r.state != "created" || r.description.rfind("deploy ", 0) != 0) continue;
        (void)c.Call(rv::msg::ReleaseState{app_name, r.version, "failed", "interrupted: its rollout did not finish"});
        Say("-----> v" + std::to_string(r.version) + " was interrupted; recorded as failed");
      }
    }
  }
  if (registry.empty()) {
    PodRegistry pr = RegistryOf(c.config().pod_dir);
    registry = pr.addr;
    if (pr.tls) {
      if (registry_ca.empty()) registry_ca = c.config().pod_dir + "/keys/pod-ca.crt";
      if (registry_auth.empty()) registry_auth = c.config().pod_dir + "/keys/registry-push.cred";
    }
  }
  if (registry.empty()) return Fail("no registry: give --registry (the pod has no " + c.config().pod_dir + "/registry/config.yml)");
  const bool remote = !local_build && builder.empty();
  if (builder.empty()) builder = BuilderNextToMe();

  // 1. The build, recorded with its whole output.
  EnvDir env_dir;
  if (Status s = env_dir.Fill(c, app_name.substr(0, app_name.rfind('/')), !remote); !s.ok()) {
    return Fail("cannot read the config of " + app_name + "'s environment: " + s.message());
  }
  rv::msg::BuildRecord build;
  if (Status s = c.Call(rv::msg::BuildStart{app_name, commit, user}, &build); !s.ok()) return Fail(s.message());
  Say("-----> Building " + app_name + " " + Short(commit) + " (build #" + std::to_string(build.number) + ")");
  std::string repo = "apps/" + app_name;
  std::vector<std::string> bargv = {builder, "run", "--source", source, "--app", app_name, "--registry", registry,
                                    "--image", repo + ":b" + std::to_string(build.number)};
  if (!registry_ca.empty()) bargv.insert(bargv.end(), {"--registry-ca", registry_ca});
  if (!registry_auth.empty()) bargv.insert(bargv.end(), {"--registry-auth", registry_auth});
  if (!stack.empty()) {
    bargv.push_back("--stack");
    bargv.push_back(stack);
  }
  // The app's build cache (pip's packages...) lives in the registry, so the
  // next build finds it on whichever host builds.
  bargv.push_back("--cache-repo");
  bargv.push_back("cache/" + app_name);
  if (!buildpacks.empty()) {
    bargv.push_back("--buildpacks");
    bargv.push_back(buildpacks);
  }
  if (!env_dir.path().empty()) {
    bargv.push_back("--env-dir");
    bargv.push_back(env_dir.path());
  }
  bool record_ok = true;
  BuildResult br;
  if (remote) {
    // An auctioned build job: its host writes the output to the record.
    rv::deploy::RemoteBuildOptions ro;
    ro.stack = stack;
    ro.timeout_s = std::max(60, build_timeout_s - 60);
    ro.memory_mb = build_memory_mb;
    ro.placement_timeout_ms = int64_t{build_placement_timeout_s} * 1000;
    ro.env = env_dir.vars();
    auto io = rv::deploy::MakeSauronRemoteBuildIo(c, registry, registry_ca, registry_auth, [] { return rv::stop_signal::Requested(); });
    char nonce[16];
    snprintf(nonce, sizeof nonce, "%06x", static_cast<unsigned>(rv::MonotonicMs() * 7919 + getpid()) & 0xffffff);
    auto rb = rv::deploy::RunRemoteBuild(*io, app_name, build.number, ro, source, nonce, Say);
    br.ok = rb.ok;
    br.error = rb.error;
    br.result = rb.result;
  } else br = RunBuilder(bargv, int64_t{build_timeout_s} * 1000, [&](const std::string& chunk) {
    for (size_t off = 0; off < chunk.size(); off += 200000) {
      Status s = c.Call(rv::msg::BuildAppend{app_name, build.number, chunk.substr(off, 200000), ""});
      if (!s.ok() && record_ok) {
        record_ok = false;
        std::cerr << "rv-deploy: build output not recorded: " << s.message() << "\n";
      }
    }
  });
  env_dir.Release();  // the build is over: the rollout may take minutes
  rv::msg::BuildFinish fin;
  fin.app = app_name;
  fin.number = build.number;
  fin.ok = br.ok;
  fin.error = br.error;
  std::map<std::string, std::string> process_types;
  int64_t size = 0;
  if (br.ok) {
    // The result line comes from the build's host: a field of the wrong type
    // fails this build with a reason (json's value() and get() throw).
    try {
      fin.image = br.result.value("image", "");
      fin.digest = br.result.value("digest", "");
      size = br.result.value("size_bytes", int64_t{0});
      if (br.result.contains("process_types")) process_types = br.result["process_types"].get<std::map<std::string, std::string>>();
    } catch (const std::exception&) {
      fin.ok = false;
      fin.error = "the builder's result line is malformed (image, digest, size_bytes or process_types of the wrong type)";
    }
  }
  if (Status s = c.Call(fin); !s.ok()) std::cerr << "rv-deploy: cannot record the build's end: " << s.message() << "\n";
  if (!fin.ok) return Fail("build #" + std::to_string(build.number) + " failed: " + fin.error);
  Say("-----> Image " + fin.image + (size > 0 ? " (" + std::to_string((size + (1 << 19)) >> 20) + " MB)" : ""));

  // 2. The release.
  rv::msg::ReleaseCreate rc;
  rc.app = app_name;
  rc.image = fin.image;
  rc.digest = fin.digest;
  rc.process_types = process_types;
  rc.commit = commit;
  rc.user = user;
  rc.build = build.number;
  rc.description = "deploy " + Short(commit);
  rv::msg::ReleaseRecord rel;
  if (Status s = c.Call(rc, &rel); !s.ok()) return Fail("cannot record the release: " + s.message());
  std::string types;
  for (const auto& [t, cmd] : rel.process_types) types += (types.empty() ? "" : ", ") + t;
  Say("-----> Release v" + std::to_string(rel.version) + " (process types: " + (types.empty() ? "none" : types) + ")");

  rv::deploy::SauronIo io(c);
  rv::deploy::RolloutOptions o;
  o.boot_timeout_ms = int64_t{boot_timeout_s} * 1000;
  o.web_port = rv::deploy::WebPort(c, app_name, port);
  o.proxy_image = rv::kProxyImage;  // a git push makes the env's proxy if it has none
  o.resources.cpu_millis = cpu_millis;
  auto failed = [&](const std::string& why) {
    (void)c.Call(rv::msg::ReleaseState{app_name, rel.version, "failed", why});
    rv::msg::ReleaseList l;
    std::string prev;
    if (c.Call(rv::msg::ReleasesRequest{app_name, 1}, &l).ok() && l.current > 0) {
      prev = "; v" + std::to_string(l.current) + " still runs";
    }
    return Fail("v" + std::to_string(rel.version) + ": " + why + prev);
  };
  // 3. The release command, before anything goes out.
  // Its output reaches the pusher as it is written, read through sauron from
  // its host from its first byte.
  auto logs_of = [&](const std::string& job_id) -> rv::deploy::LogStep {
    auto log = std::make_shared<rv::cli::RemoteLog>(rv::cli::SauronLogCalls(c), job_id, rv::msg::kMaxLogChunkBytes);
    return [log] { return log->Step(); };
  };
  if (Status s = rv::deploy::RunReleasePhase(io, rel, o, Say, logs_of); !s.ok()) return failed(s.message());
  // 4. The rollout.
  rv::msg::ReleaseList now;
  if (Status s = c.Call(rv::msg::ReleasesRequest{app_name, 1}, &now); !s.ok()) return failed(s.message());
  auto out = rv::deploy::RunRollout(io, rel, now.current, rel.formation, o, Say);
  if (!out.ok) return failed(out.why);
  // vN runs and the old replicas are stopped: record it even across a sauron
  // restart (sauron takes a repeated state as a retry), else `rv releases`
  // would name a release that no longer runs until the next deploy.
  Status s = c.Call(rv::msg::ReleaseState{app_name, rel.version, "deployed", ""});
  for (const int64_t end = rv::MonotonicMs() + 30000; s.code() == Status::Code::kUnavailable && rv::MonotonicMs() < end;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    s = c.Call(rv::msg::ReleaseState{app_name, rel.version, "deployed", ""});
  }
  if (!s.ok()) {
    return Fail("v" + std::to_string(rel.version) + " runs but was not recorded as deployed: " + s.message());
  }
  Say("-----> Released v" + std::to_string(rel.version));
  Say(rv::deploy::WhereItAnswers(c, rel.app, out.running));
  return 0;
}
