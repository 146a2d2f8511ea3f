#include "builder/unprivileged_run.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace rv::builder {

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// In the child, between fork and exec: only async-signal-safe calls.
[[noreturn]] void Child(const UnprivilegedCommand& c, int out_fd, char* const* argv, char* const* envp) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0) _exit(125);
  // Nothing of the builder's (sockets, the registry connection) reaches the command.
  for (int fd = 3; fd < 1024; fd++) close(fd);
  if (setgroups(0, nullptr) != 0 || setresgid(c.gid, c.gid, c.gid) != 0 || setresuid(c.uid, c.uid, c.uid) != 0) {
    static const char m[] = "cannot drop privileges\n";
    (void)!write(2, m, sizeof m - 1);
    _exit(125);
  }
  if (getuid() != c.uid || geteuid() != c.uid || (c.uid != 0 && setuid(0) == 0)) _exit(125);
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  if (chdir(c.cwd.c_str()) != 0) _exit(125);
  execve(argv[0], argv, envp);
  static const char m[] = "cannot run the command\n";
  (void)!write(2, m, sizeof m - 1);
  _exit(127);
}

}  // namespace

Result<UnprivilegedOutcome> RunUnprivileged(const UnprivilegedCommand& c) {
  if (c.argv.empty() || c.argv[0].empty() || c.argv[0][0] != '/') return Status::Invalid("argv[0] must be an absolute path");
  if (c.uid == 0 || c.gid == 0) return Status::Invalid("refusing to run as root");
  std::vector<char*> argv, envp;
  for (const auto& a : c.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : c.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return Status::Io(std::string("pipe: ") + strerror(errno));
  pid_t pid = fork();
  if (pid < 0) {
    close(p[0]);
    close(p[1]);
    return Status::Io(std::string("fork: ") + strerror(errno));
  }
  if (pid == 0) Child(c, p[1], argv.data(), envp.data());
  close(p[1]);
  setpgid(pid, pid);  // also here: the kill below must reach the group even if the child has not run yet
  UnprivilegedOutcome out;
  int64_t deadline = NowMs() + c.timeout_ms;
  char buf[8192];
  int status = 0;
  bool exited = false;
  for (;;) {
    int64_t left = deadline - NowMs();
    if (left <= 0) {
      out.timed_out = true;
      break;
    }
    pollfd pfd{p[0], POLLIN, 0};
    int r = poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left, 200)));
    if (r < 0 && errno != EINTR) break;
    if (r > 0) {
      ssize_t n = read(p[0], buf, sizeof buf);
      if (n <= 0) break;  // EOF: every writer is gone
      size_t room = c.max_output_bytes > out.output.size() ? c.max_output_bytes - out.output.size() : 0;
      out.output.append(buf, std::min<size_t>(room, static_cast<size_t>(n)));
      if (static_cast<size_t>(n) > room) out.truncated = true;
    }
    // The command is done even if something it left behind holds the pipe open.
    // WNOWAIT: it stays a zombie, so its pid (the group's id) is not reused before the kill below.
    siginfo_t si{};
    if (!exited && waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid) {
      exited = true;
      deadline = std::min(deadline, NowMs() + 200);
    }
  }
  close(p[0]);
  kill(-pid, SIGKILL);  // the group: the command and whatever it started
  waitpid(pid, &status, 0);
  if (exited) out.timed_out = false;
  if (out.timed_out) return out;
  if (WIFEXITED(status)) out.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) out.signal = WTERMSIG(status);
  return out;
}

}  // namespace rv::builder
