#include "strider/process_workload.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "common/clock.h"
#include "common/host_layout.h"

namespace rv::strider {
namespace {

// Job ids come from the network: keep only a safe file name.

}  // namespace

ProcessWorkload::~ProcessWorkload() {
  // Never leave a child behind: the agent normally stops jobs first.
  if (pid_ > 0) {
    kill(-pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

std::string ProcessWorkload::log_path() const { return opts_.log_dir + "/" + host_layout::SafeName(spec_.id) + ".log"; }

int64_t ProcessWorkload::next_backoff_ms() const {
  int64_t d = opts_.backoff_initial_ms;
  for (int i = 1; i < consecutive_failures_ && d < opts_.backoff_max_ms; ++i) d *= 2;
  return std::min<int64_t>(d, opts_.backoff_max_ms);
}

void ProcessWorkload::Emit(RunState s, const std::string& detail) {
  state_ = s;
  if (cb_) cb_(s, detail);
}

Status ProcessWorkload::Start(const msg::JobSpec& spec, const std::map<std::string, std::string>& secrets) {
  spec_ = spec;
  secrets_ = secrets;
  if (spec_.command.empty()) {
    done_ = true;
    Emit(RunState::kFailed, "job has no command");
    return Status::Invalid("job " + spec_.id + " has no command");
  }
  if (spec_.restart != "always" && spec_.restart != "on-failure" && spec_.restart != "never") {
    done_ = true;
    Emit(RunState::kFailed, "unknown restart policy '" + spec_.restart + "'");
    return Status::Invalid("unknown restart policy '" + spec_.restart + "'");
  }
  std::error_code ec;
  std::filesystem::create_directories(opts_.log_dir, ec);
  return Spawn(MonotonicMs());
}

Status ProcessWorkload::Spawn(int64_t now_ms) {
  restart_at_ms_ = -1;
  Emit(RunState::kStarting, "");
  std::string log = log_path();
  int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (log_fd < 0) {
    std::string why = "cannot open log " + log + ": " + strerror(errno);
    AfterEnd(now_ms, true, RunState::kFailed, why);
    return Status::Io(why);
  }
  int errpipe[2];
  if (pipe2(errpipe, O_CLOEXEC) != 0) {
    close(log_fd);
    std::string why = std::string("pipe: ") + strerror(errno);
    AfterEnd(now_ms, true, RunState::kFailed, why);
    return Status::Io(why);
  }
  // Everything the child needs is built before fork: after fork only
  // async-signal-safe calls.
  std::vector<std::string> envs;
  for (const char* keep : {"PATH", "HOME", "LANG", "TZ"}) {
    if (const char* v = getenv(keep)) envs.push_back(std::string(keep) + "=" + v);
  }
  if (!getenv("PATH")) envs.push_back("PATH=/usr/local/bin:/usr/bin:/bin");
  for (const auto& [k, v] : spec_.config) envs.push_back(k + "=" + v);
  for (const auto& [k, v] : secrets_) envs.push_back(k + "=" + v);
  envs.push_back("RV_JOB_ID=" + spec_.id);
  envs.push_back("RV_SERVICE=" + spec_.service);
  if (spec_.port > 0) envs.push_back("PORT=" + std::to_string(spec_.port));
  std::vector<char*> envp, argv;
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = spec_.command;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t parent = getpid();

  pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    close(errpipe[0]);
    close(errpipe[1]);
    std::string why = std::string("fork: ") + strerror(errno);
    AfterEnd(now_ms, true, RunState::kFailed, why);
    return Status::Io(why);
  }
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    execvpe(argv[0], argv.data(), envp.data());
    int err = errno;
    (void)!write(errpipe[1], &err, sizeof err);
    _exit(127);
  }
  setpgid(pid, pid);  // also from the parent, so a Stop right away finds the group
  close(log_fd);
  close(errpipe[1]);
  int child_errno = 0;
  ssize_t n;
  do {
    n = read(errpipe[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  close(errpipe[0]);
  if (n == sizeof child_errno) {
    waitpid(pid, nullptr, 0);
    std::string why = "exec " + spec_.command[0] + ": " + strerror(child_errno);
    AfterEnd(now_ms, true, RunState::kFailed, why);
    return Status::Invalid(why);
  }
  pid_ = pid;
  started_ms_ = now_ms;
  spdlog::debug("job {} started pid {}", spec_.id, pid_);
  // No health check for plain processes in this issue: exec'd means running.
  Emit(RunState::kRunning, "pid " + std::to_string(pid_));
  return Status::Ok();
}

// The thing ended (exit, signal, or could not start). Decide on a restart.
void ProcessWorkload::AfterEnd(int64_t now_ms, bool failure, RunState s, const std::string& detail) {
  pid_ = -1;
  if (stopping_) {
    done_ = true;
    Emit(RunState::kStopped, detail);
    return;
  }
  Emit(s, detail);
  bool restart = spec_.restart == "always" || (spec_.restart == "on-failure" && failure);
  if (!restart) {
    done_ = true;
    return;
  }
  if (started_ms_ > 0 && now_ms - started_ms_ >= opts_.stable_after_ms) consecutive_failures_ = 0;
  ++consecutive_failures_;
  restart_at_ms_ = now_ms + next_backoff_ms();
}

void ProcessWorkload::Poll(int64_t now_ms) {
  if (pid_ > 0) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      // Reap stragglers of the group too: a stop must not leave grandchildren.
      kill(-pid_, SIGKILL);
      if (WIFEXITED(status)) {
        int code = WEXITSTATUS(status);
        AfterEnd(now_ms, code != 0, RunState::kExited, "code " + std::to_string(code));
      } else {
        AfterEnd(now_ms, true, RunState::kExited, "signal " + std::to_string(WTERMSIG(status)));
      }
    } else if (stopping_ && now_ms >= kill_at_ms_) {
      kill(-pid_, SIGKILL);
    }
  }
  if (pid_ < 0 && restart_at_ms_ >= 0 && !stopping_ && now_ms >= restart_at_ms_) {
    ++restarts_;
    (void)Spawn(now_ms);
  }
  if (now_ms - last_log_check_ms_ >= 1000) {
    last_log_check_ms_ = now_ms;
    BoundLog();
  }
}

void ProcessWorkload::Stop(std::chrono::milliseconds grace) {
  if (done_ && state_ == RunState::kStopped) return;
  stopping_ = true;
  if (pid_ > 0) {
    kill(-pid_, SIGTERM);
    kill_at_ms_ = MonotonicMs() + grace.count();
    return;
  }
  restart_at_ms_ = -1;
  done_ = true;
  Emit(RunState::kStopped, "");
}

void ProcessWorkload::BoundLog() {
  if (spec_.id.empty()) return;
  std::string path = log_path();
  struct stat st {};
  if (stat(path.c_str(), &st) != 0 || st.st_size <= opts_.log_max_bytes) return;
  // Copy, then truncate in place: the child's O_APPEND descriptor keeps
  // writing to the same (now empty) file.
  std::error_code ec;
  std::filesystem::copy_file(path, path + ".1", std::filesystem::copy_options::overwrite_existing, ec);
  if (truncate(path.c_str(), 0) != 0) spdlog::warn("cannot truncate {}: {}", path, strerror(errno));
}

}  // namespace rv::strider
