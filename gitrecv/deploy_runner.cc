#include "gitrecv/deploy_runner.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/names.h"
#include "gitrecv/console_command.h"
#include "gitrecv/git_command.h"
#include "gitrecv/process.h"
#include "gitrecv/app_command.h"

namespace rv::gitrecv {
namespace {

namespace fs = std::filesystem;
constexpr size_t kMaxRequest = 8192;

bool IsHex40(const std::string& s) {
  if (s.size() != 40) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Status FillAddr(const std::string& path, sockaddr_un* a) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  if (path.size() >= sizeof a->sun_path) return Status::Invalid("socket path too long: " + path);
  memcpy(a->sun_path, path.c_str(), path.size());
  return Status::Ok();
}

void Say(int fd, const std::string& line) {
  std::string s = "gitrecv: " + line + "\n";
  (void)!write(fd, s.data(), s.size());
}

// One request, in a child process of the runner. Returns the exit code to send.
int Serve(const GitrecvConfig& cfg, const DeployRequest& r, int in_fd, int out_fd, int err_fd) {
  // The console and the app commands: no deploy lock here (a one-off or a
  // look runs beside a deploy; rv rollback takes the app's own AppLock). rv
  // run stops its job at --max-run-s and logs -f ends when the client goes
  // away; the kill at the bound is the backstop.
  if (r.kind == "run" || r.kind == "app") {
    const bool run = r.kind == "run";
    if ((run ? cfg.on_run : cfg.on_app).empty()) {
      Say(err_fd, run ? "the console is off on this git server (no on_run in gitrecv.json)"
                      : "this git server runs no app commands (no on_app in gitrecv.json)");
      return 1;
    }
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    // rv names a release it makes (rollback, restart) after $USER: the
    // customer's, not root's (this is the request's own child process).
    if (!run) setenv("USER", r.user.c_str(), 1);
    // The console's command reads the customer's input (rv run passes it on).
    BoundedResult res =
        RunBounded(run ? OnRunArgv(cfg, r) : OnAppArgv(cfg, r), cfg.hook_timeout_s + (run ? 30 : 0), run ? in_fd : -1);
    return res.timed_out ? 124 : res.exit_code;
  }
  auto app = names::ParseAppRef(r.app);
  std::string lock_path = fs::path(RepoPath(cfg.repo_root, *app)).replace_extension(".deploy.lock").string();
  int lock = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock < 0) {
    Say(err_fd, "cannot open " + lock_path + ": " + strerror(errno));
    return 1;
  }
  if (flock(lock, LOCK_EX | LOCK_NB) != 0) {
    Say(err_fd, "the previous deploy of " + r.app + " is still running; waiting for it to finish...");
    while (flock(lock, LOCK_EX) != 0 && errno == EINTR) {
    }
  }
  dup2(out_fd, 1);
  dup2(err_fd, 2);
  BoundedResult res = RunBounded(OnPushArgv(cfg, r), cfg.hook_timeout_s);
  std::error_code ec;
  fs::remove_all(fs::path(r.source).parent_path(), ec);
  if (res.timed_out) return 124;
  return res.exit_code;
}

}  // namespace

Status ValidateDeployRequest(const DeployRequest& r) {
  if (auto a = names::ParseAppRef(r.app); !a.ok()) return a.status();
  if (r.kind == "run") {
    if (!r.commit.empty() || !r.source.empty()) return Status::Invalid("a console command carries no commit or source");
    if (Status s = names::ValidateName(r.user, "user"); !s.ok()) return s;
    return ValidateCommandLine(r.command);
  }
  if (r.kind == "app") {
    if (!r.commit.empty() || !r.source.empty()) return Status::Invalid("an app command carries no commit or source");
    if (Status s = names::ValidateName(r.user, "user"); !s.ok()) return s;
    if (auto v = ParseAppRequest(r.app, r.command); !v.ok()) return v.status();
    return Status::Ok();
  }
  if (r.kind != "deploy") return Status::Invalid("kind must be deploy, run or app");
  if (!r.command.empty()) return Status::Invalid("a deploy carries no command");
  if (!IsHex40(r.commit)) return Status::Invalid("commit must be 40 hex digits");
  if (Status s = names::ValidateName(r.user, "user"); !s.ok()) return s;
  // mkdtemp("/tmp/gitrecv-push.XXXXXX") + "/src", nothing else.
  const std::string prefix = "/tmp/gitrecv-push.";
  if (r.source.compare(0, prefix.size(), prefix) != 0 || r.source.size() != prefix.size() + 6 + 4 ||
      r.source.compare(prefix.size() + 6, 4, "/src") != 0) {
    return Status::Invalid("source " + names::Quote(r.source) + " is not an exported push");
  }
  for (size_t i = prefix.size(); i < prefix.size() + 6; ++i) {
    if (!isalnum(static_cast<unsigned char>(r.source[i]))) return Status::Invalid("source is not an exported push");
  }
  return Status::Ok();
}

std::vector<std::string> OnPushArgv(const GitrecvConfig& cfg, const DeployRequest& r) {
  std::vector<std::string> argv = cfg.on_push;
  for (const std::string& a : {std::string("--app"), r.app, std::string("--commit"), r.commit, std::string("--source"),
                               r.source, std::string("--user"), r.user}) {
    argv.push_back(a);
  }
  return argv;
}

std::vector<std::string> OnRunArgv(const GitrecvConfig& cfg, const DeployRequest& r) {
  std::vector<std::string> argv = cfg.on_run;
  for (const std::string& a : {std::string("--for"), r.user, std::string("--max-run-s"),
                               std::to_string(cfg.hook_timeout_s), r.app, std::string("--"), r.command}) {
    argv.push_back(a);
  }
  return argv;
}

std::vector<std::string> OnAppArgv(const GitrecvConfig& cfg, const DeployRequest& r) {
  auto v = ParseAppRequest(r.app, r.command);
  if (!v.ok()) return {};
  std::vector<std::string> argv = cfg.on_app;
  for (auto& a : v->RvArgs()) argv.push_back(std::move(a));
  return argv;
}

std::string EncodeDeployRequest(const DeployRequest& r) {
  return nlohmann::json{{"app", r.app},   {"commit", r.commit}, {"source", r.source},
                        {"user", r.user}, {"kind", r.kind},     {"command", r.command}}
      .dump();
}

Result<DeployRequest> DecodeDeployRequest(const std::string& text) {
  try {
    auto j = nlohmann::json::parse(text);
    // No kind: a deploy (the hook of a gitrecv from before the console).
    DeployRequest r{j.at("app").get<std::string>(),    j.at("commit").get<std::string>(),
                    j.at("source").get<std::string>(), j.at("user").get<std::string>(),
                    j.value("kind", std::string("deploy")), j.value("command", std::string())};
    return r;
  } catch (const std::exception& e) {
    return Status::Invalid(std::string("bad deploy request: ") + e.what());
  }
}

Result<int> RequestDeploy(const std::string& socket_path, const DeployRequest& r) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::Io(std::string("socket: ") + strerror(errno));
  sockaddr_un a;
  if (Status s = FillAddr(socket_path, &a); !s.ok()) return s;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    std::string e = strerror(errno);
    close(fd);
    return Status::Unavailable("cannot reach gitrecv's deploy runner at " + socket_path + ": " + e +
                               " (is `gitrecv run` running?)");
  }
  std::string body = EncodeDeployRequest(r);
  iovec iov{body.data(), body.size()};
  // The session's stdin (the console's input), stdout and stderr.
  int null_in = fcntl(0, F_GETFD) < 0 ? open("/dev/null", O_RDONLY | O_CLOEXEC) : -1;
  int fds[3] = {null_in >= 0 ? null_in : 0, 1, 2};
  char ctl[CMSG_SPACE(sizeof fds)] = {};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = ctl;
  m.msg_controllen = sizeof ctl;
  cmsghdr* c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof fds);
  memcpy(CMSG_DATA(c), fds, sizeof fds);
  ssize_t sent = sendmsg(fd, &m, MSG_NOSIGNAL);
  if (null_in >= 0) close(null_in);
  if (sent != static_cast<ssize_t>(body.size())) {
    close(fd);
    return Status::Io(std::string("cannot send the deploy request: ") + strerror(errno));
  }
  shutdown(fd, SHUT_WR);
  int32_t code = -1;
  size_t got = 0;
  while (got < sizeof code) {
    ssize_t n = read(fd, reinterpret_cast<char*>(&code) + got, sizeof code - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  close(fd);
  if (got != sizeof code) return Status::Io("the deploy runner closed the connection without an exit code");
  return static_cast<int>(code);
}

Status ServeDeploys(const GitrecvConfig& cfg, const std::function<bool()>& stop, const std::function<void()>& tick) {
  struct passwd* pw = getpwnam(cfg.user.c_str());
  if (!pw) return Status::NotFound("no user " + cfg.user);
  const uid_t git_uid = pw->pw_uid;
  const gid_t git_gid = pw->pw_gid;
  const std::string path = cfg.runner_socket;
  std::error_code ec;
  fs::path dir = fs::path(path).parent_path();
  fs::create_directories(dir, ec);
  if (chown(dir.c_str(), 0, git_gid) != 0 || chmod(dir.c_str(), 0750) != 0) return Status::Io("cannot prepare " + dir.string());
  unlink(path.c_str());
  int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a;
  if (Status s = FillAddr(path, &a); !s.ok()) return s;
  if (lfd < 0 || bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(lfd, 64) != 0) {
    return Status::Io("cannot listen on " + path + ": " + strerror(errno));
  }
  if (chown(path.c_str(), 0, git_gid) != 0 || chmod(path.c_str(), 0660) != 0) return Status::Io("cannot set modes of " + path);
  while (!stop()) {
    while (waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    tick();
    pollfd p{lfd, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    int cfd = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    if (cfd < 0) continue;
    pid_t pid = fork();
    if (pid != 0) {
      close(cfd);
      continue;
    }
    // Child: one request.
    close(lfd);
    auto reply = [&](int32_t code) { (void)!write(cfd, &code, sizeof code); };
    ucred cred{};
    socklen_t len = sizeof cred;
    if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || (cred.uid != git_uid && cred.uid != 0)) {
      reply(126);
      _exit(0);
    }
    timeval tv{10, 0};
    setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string body(kMaxRequest, '\0');
    int fds[3] = {-1, -1, -1};  // the session's stdin, stdout, stderr
    char ctl[CMSG_SPACE(sizeof fds)] = {};
    iovec iov{body.data(), body.size()};
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctl;
    m.msg_controllen = sizeof ctl;
    ssize_t n = recvmsg(cfd, &m, MSG_CMSG_CLOEXEC);
    cmsghdr* c = n > 0 ? CMSG_FIRSTHDR(&m) : nullptr;
    if (!c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof fds)) {
      reply(126);
      _exit(0);
    }
    memcpy(fds, CMSG_DATA(c), sizeof fds);
    body.resize(static_cast<size_t>(n));
    auto req = DecodeDeployRequest(body);
    Status ok = req.ok() ? ValidateDeployRequest(*req) : req.status();
    struct stat st {};
    if (ok.ok() && req->kind == "deploy" &&
        (lstat(req->source.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != cred.uid)) {
      ok = Status::Invalid("source " + req->source + " is not a directory of the git user");
    }
    if (!ok.ok()) {
      Say(fds[2], "deploy runner refused the request: " + ok.message());
      reply(126);
      _exit(0);
    }
    reply(Serve(cfg, *req, fds[0], fds[1], fds[2]));
    _exit(0);
  }
  close(lfd);
  unlink(path.c_str());
  return Status::Ok();
}

}  // namespace rv::gitrecv
