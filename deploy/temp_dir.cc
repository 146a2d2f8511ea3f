#include "deploy/temp_dir.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace rv::deploy {

namespace fs = std::filesystem;

std::string TempRoot() {
  const char* t = getenv("TMPDIR");
  return t && *t ? t : "/tmp";
}

bool IsOrphanTempDir(const std::string& name, const std::string& prefix, const std::function<bool(pid_t)>& pid_alive) {
  if (name.size() <= prefix.size() + 1 || name.compare(0, prefix.size(), prefix) != 0 || name[prefix.size()] != '.') {
    return false;
  }
  size_t i = prefix.size() + 1, end = name.find('.', i);
  if (end == std::string::npos || end == i || end - i > 9) return false;  // 9 digits: no overflow of pid_t
  pid_t pid = 0;
  for (; i < end; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
    pid = pid * 10 + (name[i] - '0');
  }
  if (pid <= 0 || end + 1 >= name.size()) return false;
  return !pid_alive(pid);
}

bool PidAlive(pid_t pid) { return kill(pid, 0) == 0 || errno != ESRCH; }

int SweepOrphanTempDirs(const std::string& root, const std::string& prefix, const std::function<bool(pid_t)>& pid_alive) {
  std::error_code ec;
  std::vector<fs::path> orphans;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code tec;
    // Not following links: a link named like ours is someone else's business.
    if (!it->is_directory(tec) || it->is_symlink(tec)) continue;
    if (IsOrphanTempDir(it->path().filename().string(), prefix, pid_alive)) orphans.push_back(it->path());
  }
  int n = 0;
  for (const auto& p : orphans) {
    std::error_code rec;
    if (fs::remove_all(p, rec) > 0 && !rec) ++n;
  }
  return n;
}

Status TempDir::Create(const std::string& root, const std::string& prefix) {
  if (!path_.empty()) return Status::Internal("TempDir::Create called twice");
  std::string tmpl = root + "/" + prefix + "." + std::to_string(getpid()) + ".XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) return Status::Io("cannot make a temp dir in " + root + ": " + strerror(errno));
  path_ = buf.data();
  return Status::Ok();
}

void TempDir::Remove() {
  if (path_.empty()) return;
  std::error_code ec;
  fs::remove_all(path_, ec);
  path_.clear();
}

}  // namespace rv::deploy
