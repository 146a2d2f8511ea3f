#include "strider/proxy_runtime.h"

#include <set>
#include <sstream>

namespace rv::strider {

int64_t ProxyMasterReloads(const std::string& show_proc) {
  std::istringstream in(show_proc);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream w(line);
    std::string pid, type;
    int64_t reloads = -1;
    if (w >> pid >> type >> reloads && type == "master") return reloads;
  }
  return -1;
}

std::vector<int64_t> ProxyWorkerPids(const std::string& show_proc) {
  std::vector<int64_t> out;
  std::istringstream in(show_proc);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream w(line);
    std::string pid, type;
    if (!(w >> pid >> type) || type != "worker" || pid.empty() || pid.size() > 18) continue;
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    out.push_back(std::stoll(pid));
  }
  return out;
}

std::vector<std::string> ProxyServersGone(const std::vector<std::string>& before,
                                          const std::vector<std::string>& after) {
  std::set<std::string> now(after.begin(), after.end());
  std::vector<std::string> gone;
  for (const auto& s : before) {
    if (!now.count(s)) gone.push_back(s);
  }
  return gone;
}

std::string ProxyMaintCommand(int64_t pid, const std::string& server) {
  auto slash = server.find('/');
  if (pid <= 0 || slash == std::string::npos || slash == 0 || slash + 1 == server.size() ||
      server.find('/', slash + 1) != std::string::npos)
    return "";
  for (char c : server) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-' || c == '/';
    if (!ok) return "";
  }
  return "@!" + std::to_string(pid) + " set server " + server + " state maint";
}

}  // namespace rv::strider
