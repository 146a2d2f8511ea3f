#include "gitrecv/config.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace rv::gitrecv {

using json = nlohmann::json;

Result<GitrecvConfig> ParseGitrecvConfig(const std::string& text) {
  GitrecvConfig c;
  try {
    json j = json::parse(text);
    if (!j.is_object()) return Status::Invalid("gitrecv config must be a JSON object");
    static const std::set<std::string> kKnown = {"user",       "listen",     "port",           "repo_root",
                                                 "on_push",    "max_repo_bytes", "hook_timeout_s", "sauron_api",
                                                 "sauron_public_key", "client_key", "pod",          "binary",
                                                 "runner_socket", "on_run", "on_app"};
    for (auto& [k, v] : j.items()) {
      if (!kKnown.count(k)) return Status::Invalid("unknown key '" + k + "' in gitrecv config");
    }
    auto get = [&](const char* k, auto* out) {
      if (j.contains(k)) *out = j.at(k).get<std::remove_pointer_t<decltype(out)>>();
    };
    get("user", &c.user);
    get("listen", &c.listen);
    get("port", &c.port);
    get("repo_root", &c.repo_root);
    if (j.contains("on_push")) {
      if (j["on_push"].is_string()) c.on_push = {j["on_push"].get<std::string>()};
      else c.on_push = j["on_push"].get<std::vector<std::string>>();
    }
    if (j.contains("on_run")) c.on_run = j["on_run"].get<std::vector<std::string>>();
    if (j.contains("on_app")) c.on_app = j["on_app"].get<std::vector<std::string>>();
    get("max_repo_bytes", &c.max_repo_bytes);
    get("hook_timeout_s", &c.hook_timeout_s);
    get("sauron_api", &c.sauron_api);
    get("sauron_public_key", &c.sauron_public_key);
    get("client_key", &c.client_key);
    get("pod", &c.pod);
    get("binary", &c.binary);
    get("runner_socket", &c.runner_socket);
  } catch (const std::exception& e) {
    return Status::Invalid(std::string("gitrecv config: ") + e.what());
  }
  if (c.repo_root.empty() || c.repo_root.front() != '/') return Status::Invalid("gitrecv config: repo_root must be absolute");
  if (c.on_push.empty() || c.on_push.front().empty()) return Status::Invalid("gitrecv config: on_push is empty");
  if (c.max_repo_bytes <= 0) return Status::Invalid("gitrecv config: max_repo_bytes must be positive");
  if (c.hook_timeout_s <= 0) return Status::Invalid("gitrecv config: hook_timeout_s must be positive");
  if (c.port <= 0 || c.port > 65535) return Status::Invalid("gitrecv config: port out of range");
  return c;
}

Result<GitrecvConfig> LoadGitrecvConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("cannot read gitrecv config " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  auto c = ParseGitrecvConfig(ss.str());
  if (c.ok()) c->path = path;
  return c;
}

std::string GitrecvConfigJson(const GitrecvConfig& c) {
  json j = {{"user", c.user},
            {"listen", c.listen},
            {"port", c.port},
            {"repo_root", c.repo_root},
            {"on_push", c.on_push},
            {"max_repo_bytes", c.max_repo_bytes},
            {"hook_timeout_s", c.hook_timeout_s},
            {"sauron_api", c.sauron_api},
            {"sauron_public_key", c.sauron_public_key},
            {"client_key", c.client_key},
            {"pod", c.pod},
            {"binary", c.binary},
            {"runner_socket", c.runner_socket},
            {"on_run", c.on_run},
            {"on_app", c.on_app}};
  return j.dump(2) + "\n";
}

}  // namespace rv::gitrecv
