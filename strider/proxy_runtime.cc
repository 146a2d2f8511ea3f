#include "strider/proxy_runtime.h"

#include "strider/proxy_config.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <string_view>

namespace rv::strider {

namespace {

// One line of `show proc`: "<pid> <type> <reloads> ..."; reloads -1 when
// the line has none (or a negative one). A pid that is not a positive number
// is left out.
struct ProcLine {
  int64_t pid = 0;
  std::string type;
  int64_t reloads = -1;
};

std::vector<ProcLine> ProcLines(const std::string& show_proc) {
  std::vector<ProcLine> out;
  std::istringstream in(show_proc);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream w(line);
    std::string pid;
    ProcLine p;
    if (!(w >> pid >> p.type)) continue;
    if (pid.empty() || pid.size() > 18 || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    p.pid = std::stoll(pid);
    if (p.pid <= 0) continue;  // no process has PID 0: a hostile or garbled line
    if (!(w >> p.reloads) || p.reloads < 0) p.reloads = -1;
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace

int64_t ProxyMasterReloads(const std::string& show_proc) {
  for (const auto& p : ProcLines(show_proc))
    if (p.type == "master") return p.reloads;
  return -1;
}

std::vector<int64_t> ProxyWorkerPids(const std::string& show_proc) {
  std::vector<int64_t> out;
  for (const auto& p : ProcLines(show_proc))
    if (p.type == "worker") out.push_back(p.pid);
  return out;
}

int64_t ProxyCurrentWorker(const std::string& show_proc) {
  for (const auto& p : ProcLines(show_proc))
    if (p.type == "worker" && p.reloads == 0) return p.pid;
  return -1;
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

namespace {

// One "server" line of a configuration: its backend, name, address and the
// words after the address.
struct ServerLine {
  std::string backend, name, addr;
  std::vector<std::string> opts;
  std::string tracks;  // "backend/server" after `track`, or ""
};

// Calls f(line, backend, server) for every line of cfg: the backend section
// it is in ("" outside one) and the parsed server line when it is one (null
// otherwise).
template <typename F>
void ForEachLine(const std::string& cfg, F f) {
  std::string backend;
  size_t pos = 0;
  while (pos < cfg.size()) {
    size_t end = cfg.find('\n', pos);
    size_t next = end == std::string::npos ? cfg.size() : end + 1;
    std::string_view line(cfg.data() + pos, next - pos);
    std::istringstream w{std::string(line)};
    std::string first, second;
    w >> first >> second;
    bool indented = !line.empty() && (line[0] == ' ' || line[0] == '\t');
    if (!indented && !first.empty() && first[0] != '#') backend = first == "backend" ? second : "";
    if (indented && first == "server" && !backend.empty()) {
      ServerLine s{backend, second, "", {}, ""};
      w >> s.addr;
      std::string word;
      while (w >> word) {
        if (word == "track" && w >> s.tracks) continue;
        s.opts.push_back(word);
      }
      f(line, backend, &s);
    } else {
      f(line, backend, static_cast<const ServerLine*>(nullptr));
    }
    pos = next;
  }
}

// cfg less the lines of `servers` and of the server lines tracking one of them.
std::string WithoutServers(const std::string& cfg, const std::vector<std::string>& servers) {
  std::set<std::string> drop(servers.begin(), servers.end());
  std::string kept;
  ForEachLine(cfg, [&](std::string_view line, const std::string&, const ServerLine* s) {
    if (s && (drop.count(s->backend + "/" + s->name) || drop.count(s->tracks))) return;
    kept.append(line);
  });
  return kept;
}

bool IsCliWord(const std::string& w) {
  return !w.empty() && w.size() <= 128 &&
         w.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:/-") == std::string::npos;
}

}  // namespace

bool ProxyConfigOnlyChangesServers(const std::string& before, const std::string& after,
                                   const std::vector<std::string>& dropped, const std::vector<std::string>& added) {
  return WithoutServers(before, dropped) == WithoutServers(after, added);
}

std::vector<std::string> ProxyTrackers(const std::string& cfg, const std::string& server) {
  std::vector<std::string> out;
  ForEachLine(cfg, [&](std::string_view, const std::string&, const ServerLine* s) {
    if (s && s->tracks == server) out.push_back(s->backend + "/" + s->name);
  });
  return out;
}

Result<std::vector<std::string>> ProxyAddServerCommands(const std::string& cfg, const std::string& server) {
  // Each backend's default-server words, and the server's lines.
  std::map<std::string, std::vector<std::string>> defaults;
  std::vector<ServerLine> lines;  // the server first, then its trackers
  ForEachLine(cfg, [&](std::string_view line, const std::string& backend, const ServerLine* s) {
    if (!s) {
      std::istringstream w{std::string(line)};
      std::string first, word;
      w >> first;
      if (first == "default-server" && !backend.empty())
        while (w >> word) defaults[backend].push_back(word);
    } else if (s->backend + "/" + s->name == server) {
      lines.insert(lines.begin(), *s);
    } else if (s->tracks == server) {
      lines.push_back(*s);
    }
  });
  if (lines.empty() || lines.front().backend + "/" + lines.front().name != server)
    return Status::NotFound("no server " + server.substr(0, 80) + " in the configuration");
  const std::vector<std::string>& checks = defaults[lines.front().backend];
  std::vector<std::string> adds, rest;
  for (const auto& l : lines) {
    // A tracker checks on its own with the tracked server's settings:
    // HAProxy 2.6 cannot track a dynamic server.
    std::vector<std::string> words = defaults[l.backend];
    if (!l.tracks.empty()) words.insert(words.end(), checks.begin(), checks.end());
    words.insert(words.end(), l.opts.begin(), l.opts.end());
    std::string name = l.backend + "/" + l.name;
    std::string cmd = "add server " + name + " " + l.addr;
    bool ok = IsCliWord(l.backend) && IsCliWord(l.name) && IsCliWord(l.addr);
    bool check = false;
    for (const auto& w : words) {
      ok = ok && IsCliWord(w);
      check = check || w == "check";
      cmd += " " + w;
    }
    if (!ok) return Status::Invalid("a server line the CLI cannot take: " + name.substr(0, 80));
    adds.push_back(cmd);
    // Out of maintenance, health as the strider saw it (sauron routes only
    // healthy replicas); checks go on from there.
    if (check) rest.push_back("enable health " + name);
    if (check) rest.push_back("set server " + name + " health up");
    rest.push_back("set server " + name + " state ready");
  }
  adds.insert(adds.end(), rest.begin(), rest.end());
  return adds;
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

namespace {

bool IsMapValue(const std::string& v) {
  return !v.empty() && v.size() <= 18 && v.find_first_not_of("0123456789") == std::string::npos;
}

bool IsBackendValue(const std::string& v) {
  return !v.empty() && v.size() <= 128 &&
         v.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == std::string::npos;
}

// "KEY VALUE" lines; blank lines skipped; the first entry of a key wins, as
// in HAProxy's lookup.
Result<std::map<std::string, std::string>> ParseMap(const std::string& text,
                                                    bool (*value_ok)(const std::string&) = IsMapValue) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream w(line);
    std::string k, v, extra;
    if (!(w >> k)) continue;
    if (!(w >> v) || (w >> extra) || !IsProxyName(k) || !value_ok(v))
      return Status::Invalid("map line the runtime API cannot carry: " + line.substr(0, 80));
    out.emplace(k, v);
  }
  return out;
}

bool IsCliPath(const std::string& path) {
  return !path.empty() && path.front() == '/' && path.size() <= 256 &&
         path.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-") ==
             std::string::npos;
}

// The map commands, each after `at` (a worker prefix or "").
Result<std::vector<std::string>> MapCommands(const std::string& at, const std::string& path, const std::string& before,
                                             const std::string& after, bool (*value_ok)(const std::string&)) {
  if (!IsCliPath(path)) return Status::Invalid("a map path the CLI cannot take: " + path.substr(0, 80));
  auto b = ParseMap(before, value_ok);
  if (!b.ok()) return b.status();
  auto a = ParseMap(after, value_ok);
  if (!a.ok()) return a.status();
  std::vector<std::string> out;
  for (const auto& [k, v] : *b)
    if (!a->count(k)) out.push_back(at + "del map " + path + " " + k);
  for (const auto& [k, v] : *a) {
    auto it = b->find(k);
    if (it == b->end()) {
      out.push_back(at + "add map " + path + " " + k + " " + v);
    } else if (it->second != v) {
      out.push_back(at + "set map " + path + " " + k + " " + v);
    }
  }
  return out;
}

// A crt-list's lines by certificate path (the first word); Invalid for a line
// a payload could not carry or a path twice.
Result<std::map<std::string, std::string>> CrtListLines(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(' ') == std::string::npos) continue;
    std::istringstream w(line);
    std::string path;
    w >> path;
    bool printable = std::all_of(line.begin(), line.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
    if (!IsCliPath(path) || !printable || line.size() > 512 || !out.emplace(path, line).second)
      return Status::Invalid("a crt-list line the CLI cannot take: " + line.substr(0, 80));
  }
  return out;
}

// A PEM a payload can carry: printable lines, none blank (a blank line ends
// the payload).
bool IsPayloadPem(const std::string& pem) {
  if (pem.empty() || pem.size() > (1 << 20) || pem.find("\n\n") != std::string::npos || pem.front() == '\n')
    return false;
  return std::all_of(pem.begin(), pem.end(), [](char c) { return c == '\n' || (c >= 0x20 && c < 0x7f); });
}

}  // namespace

Result<std::vector<std::string>> ProxyMapCommands(int64_t pid, const std::string& path, const std::string& before,
                                                  const std::string& after) {
  if (pid <= 0) return Status::Invalid("no worker");
  return MapCommands("@!" + std::to_string(pid) + " ", path, before, after, IsMapValue);
}

bool ProxyCliTook(const std::string& answer) {
  if (answer.find_first_not_of(" \r\n") == std::string::npos) return true;
  for (const char* bad : {"Can't", "can't", "unable", "Unable", "No ongoing", "Unknown", "No such", "error", "Error"})
    if (answer.find(bad) != std::string::npos) return false;
  for (const char* good : {"New server registered.", "Success!", "New empty certificate store", "Transaction created",
                           "Transaction updated", "deleted in crtlist", "deleted!"})
    if (answer.find(good) != std::string::npos) return true;
  return false;
}

Result<std::vector<std::string>> ProxyNameCommands(const std::string& crt_list_path, const std::string& hosts_map_path,
                                                   const ProxyNames& before, const ProxyNames& after,
                                                   const std::map<std::string, std::string>& certs) {
  if (!IsCliPath(crt_list_path)) return Status::Invalid("a crt-list path the CLI cannot take");
  auto b = CrtListLines(before.crt_list);
  if (!b.ok()) return b.status();
  auto a = CrtListLines(after.crt_list);
  if (!a.ok()) return a.status();
  std::vector<std::string> out;
  // 1. Certificates, before any line names them.
  for (const auto& [path, pem] : certs) {
    if (!a->count(path)) return Status::Invalid("a certificate no crt-list line names: " + path.substr(0, 80));
    if (!IsCliPath(path) || !IsPayloadPem(pem)) return Status::Invalid("a certificate the CLI cannot take: " + path.substr(0, 80));
    if (!b->count(path)) out.push_back("new ssl cert " + path);
    std::string set = "set ssl cert " + path + " <<\n" + pem;
    if (set.back() != '\n') set += '\n';
    out.push_back(std::move(set));
    out.push_back("commit ssl cert " + path);
  }
  // 2. New lines (a line changed in place is the reload's).
  for (const auto& [path, line] : *a) {
    auto it = b->find(path);
    if (it != b->end() && it->second != line) return Status::Invalid("a crt-list line changed: " + path.substr(0, 80));
    if (it == b->end()) {
      if (!certs.count(path)) return Status::Invalid("a new crt-list line without its certificate: " + path.substr(0, 80));
      out.push_back("add ssl crt-list " + crt_list_path + " <<\n" + line + "\n");
    }
  }
  // 3. The names' routes.
  auto m = MapCommands("", hosts_map_path, before.hosts_map, after.hosts_map, IsBackendValue);
  if (!m.ok()) return m.status();
  out.insert(out.end(), m->begin(), m->end());
  // 4. Lines gone, then their certificates.
  for (const auto& [path, line] : *b) {
    if (a->count(path)) continue;
    out.push_back("del ssl crt-list " + crt_list_path + " " + path);
    out.push_back("del ssl cert " + path);
  }
  return out;
}

}  // namespace rv::strider
