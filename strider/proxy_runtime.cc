#include "strider/proxy_runtime.h"

#include <set>
#include <sstream>
#include <string_view>

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

bool ProxyConfigOnlyDropsServers(const std::string& before, const std::string& after,
                                 const std::vector<std::string>& servers) {
  std::set<std::string> drop(servers.begin(), servers.end());
  std::string kept, backend;
  size_t pos = 0;
  while (pos < before.size()) {
    size_t end = before.find('\n', pos);
    size_t next = end == std::string::npos ? before.size() : end + 1;
    std::string_view line(before.data() + pos, next - pos);
    std::istringstream w{std::string(line)};
    std::string first, second, word;
    w >> first >> second;
    bool indented = !line.empty() && (line[0] == ' ' || line[0] == '\t');
    if (!indented && !first.empty() && first[0] != '#') backend = first == "backend" ? second : "";
    bool dropped = indented && first == "server" && !backend.empty() && drop.count(backend + "/" + second);
    // A server that tracks a dropped one (an app's _body backend) goes with it.
    while (indented && first == "server" && !dropped && w >> word) {
      if (word == "track" && w >> word) dropped = drop.count(word) > 0;
    }
    if (!dropped) kept.append(line);
    pos = next;
  }
  return kept == after;
}

std::string ProxyServerCommand(int64_t pid, const std::string& server, ProxyServerChange change) {
  auto slash = server.find('/');
  if (pid <= 0 || slash == std::string::npos || slash == 0 || slash + 1 == server.size() ||
      server.find('/', slash + 1) != std::string::npos)
    return "";
  for (char c : server) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-' || c == '/';
    if (!ok) return "";
  }
  const char* what = change == ProxyServerChange::kMaint   ? "state maint"
                     : change == ProxyServerChange::kReady ? "state ready"
                                                           : "health up";
  return "@!" + std::to_string(pid) + " set server " + server + " " + what;
}

}  // namespace rv::strider
