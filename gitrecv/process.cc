#include "gitrecv/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

extern char** environ;

namespace rv::gitrecv {
namespace {

std::vector<char*> Argv(const std::vector<std::string>& argv) {
  std::vector<char*> out;
  for (const auto& a : argv) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

int Wait(pid_t pid) {
  int st = 0;
  while (waitpid(pid, &st, 0) < 0) {
    if (errno != EINTR) return 127;
  }
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return 127;
}

}  // namespace

int Run(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env) {
  auto args = Argv(argv);
  pid_t pid = fork();
  if (pid < 0) return 127;
  if (pid == 0) {
    for (const auto& e : extra_env) putenv(const_cast<char*>(e.c_str()));
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, 0);
    execvp(args[0], args.data());
    _exit(127);
  }
  return Wait(pid);
}

Result<std::string> Capture(const std::vector<std::string>& argv, size_t max_bytes) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Status::Io(std::string("pipe: ") + strerror(errno));
  auto args = Argv(argv);
  pid_t pid = fork();
  if (pid < 0) return Status::Io(std::string("fork: ") + strerror(errno));
  if (pid == 0) {
    dup2(fds[1], 1);
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, 0);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  std::string out;
  char buf[8192];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) != 0) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (out.size() < max_bytes) out.append(buf, std::min<size_t>(n, max_bytes - out.size()));
  }
  close(fds[0]);
  int rc = Wait(pid);
  if (rc != 0) return Status::Io(argv[0] + " exited " + std::to_string(rc));
  return out;
}

BoundedResult RunBounded(const std::vector<std::string>& argv, int timeout_s, int stdin_fd) {
  auto args = Argv(argv);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    if (strncmp(*e, "GIT_", 4) != 0) env_strings.emplace_back(*e);
  }
  auto env = Argv(env_strings);
  BoundedResult r;
  pid_t pid = fork();
  if (pid < 0) {
    r.exit_code = 127;
    return r;
  }
  if (pid == 0) {
    setpgid(0, 0);
    int in = stdin_fd >= 0 ? stdin_fd : open("/dev/null", O_RDONLY);
    if (in >= 0 && in != 0) dup2(in, 0);
    if (in == 0) fcntl(0, F_SETFD, 0);  // dup2 onto itself keeps close-on-exec
    execvpe(args[0], args.data(), env.data());
    _exit(127);
  }
  setpgid(pid, pid);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  int st = 0;
  for (;;) {
    pid_t w = waitpid(pid, &st, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) {
      r.exit_code = 127;
      return r;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      r.timed_out = true;
      kill(-pid, SIGKILL);
      waitpid(pid, &st, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (WIFEXITED(st)) r.exit_code = WEXITSTATUS(st);
  else if (WIFSIGNALED(st)) r.exit_code = 128 + WTERMSIG(st);
  // Whatever the command left behind in its group goes with it.
  kill(-pid, SIGKILL);
  return r;
}

}  // namespace rv::gitrecv
