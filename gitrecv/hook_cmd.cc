// gitrecv hook: the pre-receive hook of every app repo. Decides whether the
// push may deploy (push_policy.h), checks the repo's size and the tree, then
// exports the pushed tree and runs the on-push command; its exit code decides
// whether git updates the branch.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "gitrecv/commands.h"
#include "gitrecv/deploy_runner.h"
#include "gitrecv/process.h"
#include "gitrecv/push_policy.h"

namespace rv::gitrecv {
namespace {

namespace fs = std::filesystem;

int Refuse(const std::string& why) {
  std::cerr << "gitrecv: " << why << std::endl;
  return 1;
}

int64_t DirBytes(const fs::path& dir) {
  int64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    std::error_code e2;
    if (it->is_regular_file(e2)) total += static_cast<int64_t>(it->file_size(e2));
  }
  return total;
}

std::string Mb(int64_t bytes) {
  std::ostringstream o;
  o.precision(bytes < 10 * 1024 * 1024 ? 2 : 0);
  o << std::fixed << static_cast<double>(bytes) / (1024.0 * 1024.0) << " MB";
  return o.str();
}

std::string Env(const char* name) {
  const char* v = getenv(name);
  return v ? v : "";
}

}  // namespace

int RunHook(const GitrecvConfig& cfg) {
  const std::string app = Env("RV_GITRECV_APP"), user = Env("RV_GITRECV_USER"), branch = Env("RV_GITRECV_BRANCH");
  if (app.empty() || user.empty() || branch.empty()) return Refuse("pushes to this repository go through gitrecv's ssh server");
  // The on-push command must not inherit the push lock: whatever it leaves
  // running would hold the app's pushes forever.
  if (std::string fd = Env("RV_GITRECV_LOCK_FD"); !fd.empty()) fcntl(std::atoi(fd.c_str()), F_SETFD, FD_CLOEXEC);

  std::string input;
  char buf[4096];
  ssize_t n;
  while ((n = read(0, buf, sizeof buf)) > 0 && input.size() < (1 << 20)) input.append(buf, static_cast<size_t>(n));
  auto updates = ParseRefUpdates(input);
  if (!updates.ok()) return Refuse(updates.status().message());
  auto u = CheckRefUpdates(*updates, branch);
  if (!u.ok()) return Refuse(u.status().message());

  // The pushed objects wait in a quarantine dir under objects/ until this
  // hook accepts them, so objects/ is the repo's size after the push.
  int64_t bytes = DirBytes(fs::current_path() / "objects");
  if (bytes > cfg.max_repo_bytes) {
    return Refuse("refusing the push: the repository would be " + Mb(bytes) + ", over the size limit of " +
                  Mb(cfg.max_repo_bytes) + " (keep build output and large files out of git)");
  }
  auto tree = Capture({"git", "rev-parse", "--verify", "--quiet", u->new_oid + "^{tree}"});
  if (!tree.ok()) return Refuse("refusing the push: " + u->new_oid + " is not a commit");
  if (tree->rfind(kEmptyTreeOid, 0) == 0) return Refuse("refusing the push: commit " + u->new_oid.substr(0, 12) + " has no files");

  // Export the tree (no .git) for the on-push command.
  char tmpl[] = "/tmp/gitrecv-push.XXXXXX";
  if (!mkdtemp(tmpl)) return Refuse(std::string("cannot make a temp dir: ") + strerror(errno));
  const std::string tmp = tmpl, src = tmp + "/src";
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{tmp};
  std::error_code ec;
  if (fs::create_directories(src, ec); ec) return Refuse("cannot make the export dir: " + ec.message());
  std::vector<std::string> env = {"GIT_INDEX_FILE=" + tmp + "/index", "GIT_WORK_TREE=" + src};
  if (Run({"git", "read-tree", u->new_oid}, env) != 0 || Run({"git", "checkout-index", "--all", "--force"}, env) != 0) {
    return Refuse("cannot export commit " + u->new_oid.substr(0, 12));
  }
  fs::remove(tmp + "/index", ec);  // not part of the source; the export dir goes at the end anyway

  const bool first = u->old_oid == kZeroOid;
  std::cerr << "gitrecv: deploying " << app << " at " << u->new_oid.substr(0, 12) << " (pushed by " << user << ")"
            << std::endl;
  auto t0 = std::chrono::steady_clock::now();
  BoundedResult r;
  DeployRequest req{app, u->new_oid, src, user, "deploy", ""};
  if (cfg.runner_socket.empty()) {
    r = RunBounded(OnPushArgv(cfg, req), cfg.hook_timeout_s);
  } else {
    auto code = RequestDeploy(cfg.runner_socket, req);
    if (!code.ok()) return Refuse(code.status().message());
    r.exit_code = *code;
    r.timed_out = *code == 124;
  }
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::string stays = first ? "branch " + branch + " was not created" : branch + " stays at " + u->old_oid.substr(0, 12);
  if (r.timed_out) {
    return Refuse("deploy of " + app + " took longer than " + std::to_string(cfg.hook_timeout_s) + " s and was stopped; " + stays);
  }
  if (r.exit_code == 127) return Refuse("cannot run the on-push command " + cfg.on_push.front() + "; " + stays);
  if (r.exit_code != 0) {
    return Refuse("deploy of " + app + " failed (exit " + std::to_string(r.exit_code) + "); " + stays);
  }
  std::ostringstream took;
  took.precision(1);
  took << std::fixed << s;
  std::cerr << "gitrecv: " << app << " deployed " << u->new_oid.substr(0, 12) << " in " << took.str() << " s" << std::endl;
  return 0;
}

}  // namespace rv::gitrecv
