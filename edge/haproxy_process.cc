#include "edge/haproxy_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace rv::edge {
namespace {

// Runs argv, returns its exit code and combined output (bounded).
int RunCapture(const std::vector<std::string>& argv, std::string* out) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return -1;
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) {
    if (out->size() < 16384) out->append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

// Writes `text` to `path` through `path`.new and a rename: readers see the
// old file or the new one, never a part.
Status WriteByRename(const std::string& path, const std::string& text) {
  std::string next = path + ".new";
  {
    std::ofstream f(next, std::ios::trunc);
    f << text;
    if (!f.flush()) return Status::Io("cannot write " + next);
  }
  if (rename(next.c_str(), path.c_str()) != 0) return Status::Io("cannot install " + path + ": " + strerror(errno));
  return Status::Ok();
}

}  // namespace

Status HaproxyProcess::Check(const std::string& path, std::string* why) const {
  int rc = RunCapture({binary_, "-c", "-q", "-f", path}, why);
  if (rc == 127) return Status::Unavailable("cannot run " + binary_ + " (scripts/install-deps installs haproxy)");
  return rc == 0 ? Status::Ok() : Status::Invalid("haproxy refused the configuration: " + *why);
}

Status HaproxyProcess::Apply(const std::string& text, const std::string& names_map) {
  if (text == running_text_ && names_map == running_map_ && Running()) return Status::Ok();
  // A master still starting or reloading may miss a SIGUSR2 (it has no
  // handler yet, or is between two executions): the caller tries again.
  if (Running() && !WorkersReady()) {
    return Status::Unavailable("haproxy is still loading its configuration; apply again shortly");
  }
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  cfg_ = dir_ + "/haproxy.cfg";
  std::string next = cfg_ + ".new";
  {
    std::ofstream f(next, std::ios::trunc);
    f << text;
    if (!f.flush()) return Status::Io("cannot write " + next);
  }
  // The check reads the map at its final path; the running HAProxy does not
  // (it holds the map it loaded), so only a check failure must undo this.
  if (Status s = WriteByRename(names_map_path(), names_map); !s.ok()) return s;
  std::string why;
  if (Status s = Check(next, &why); !s.ok()) {
    if (installed_map_) (void)WriteByRename(names_map_path(), *installed_map_);
    return s;
  }
  if (rename(next.c_str(), cfg_.c_str()) != 0) {
    if (installed_map_) (void)WriteByRename(names_map_path(), *installed_map_);
    return Status::Io("cannot install " + cfg_ + ": " + strerror(errno));
  }
  installed_map_ = names_map;
  if (!Running()) {
    if (Status s = Start(); !s.ok()) return s;
  } else {
    if (kill(pid_, SIGUSR2) != 0) return Status::Io(std::string("cannot signal haproxy: ") + strerror(errno));
    ++reloads_;
  }
  running_text_ = text;
  running_map_ = names_map;
  return Status::Ok();
}

Status HaproxyProcess::Start() {
  std::string sock = master_socket();
  unlink(sock.c_str());
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return Status::Io(std::string("fork: ") + strerror(errno));
  if (pid == 0) {
    // The master dies with the edge: it never outlives the daemon that owns it.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(1);
    setpgid(0, 0);
    std::string s = sock + ",mode,600";
    execl(binary_.c_str(), binary_.c_str(), "-W", "-S", s.c_str(), "-f", cfg_.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  pid_ = pid;
  reloads_ = 0;
  return Status::Ok();
}

bool HaproxyProcess::Running() {
  if (pid_ <= 0) return false;
  int st = 0;
  pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    pid_ = -1;
    running_text_.clear();
    return false;
  }
  return r == 0;
}

void HaproxyProcess::Stop() {
  if (!Running()) return;
  kill(pid_, SIGTERM);
  for (int i = 0; i < 100; ++i) {  // up to 5 s, then SIGKILL
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      running_text_.clear();
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(-pid_, SIGKILL);
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  running_text_.clear();
}

std::string HaproxyProcess::MasterCommand(const std::string& command) const {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::string path = master_socket();
  if (path.size() >= sizeof a.sun_path) {
    close(fd);
    return "";
  }
  memcpy(a.sun_path, path.c_str(), path.size() + 1);
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return "";
  }
  std::string line = command + "\n";
  if (write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    close(fd);
    return "";
  }
  // The master CLI keeps a connection open for more commands until it reads EOF.
  shutdown(fd, SHUT_WR);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0 && out.size() < 65536) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

bool HaproxyProcess::WorkersReady() const {
  // `show proc` lists the master, the current workers (reloads = 0) and old
  // ones still draining; a current worker there means the reload finished.
  std::string out = MasterCommand("show proc");
  std::istringstream in(out);
  std::string line;
  bool current = false;
  int master_reloads = -1;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string pid, type;
    int reloads = -1;
    f >> pid >> type >> reloads;
    if (type == "master") master_reloads = reloads;
    if (type == "worker" && reloads == 0) current = true;
  }
  // The master counts its reloads: until it has done ours, the workers listed
  // are the old ones.
  return current && master_reloads >= reloads_;
}

}  // namespace rv::edge
