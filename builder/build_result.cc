#include "builder/build_result.h"

#include <cmath>
#include <sstream>

#include <nlohmann/json.hpp>

#include "builder/output_filter.h"
#include "common/utf8.h"

namespace rv::builder {

namespace {

bool NameChar(char c, bool dot) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         (dot && c == '.');
}

bool ValidName(const std::string& s, bool dot) {
  if (s.empty() || s.size() > 63 || s == "." || s == "..") return false;
  for (char c : s)
    if (!NameChar(c, dot)) return false;
  return true;
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// The line made printable for an error message.
std::string Quote(const std::string& s) {
  std::string out;
  OutputFilter f({.max_line_bytes = 80, .max_total_bytes = 200}, [&](std::string_view l) { out = l; });
  f.Feed(s);
  f.Finish();
  return "'" + out + "'";
}

double Round3(double x) { return std::round(x * 1000) / 1000; }

}  // namespace

Result<ProcessTypes> ParseProcessTypes(const std::string& text) {
  ProcessTypes out;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    n++;
    if (Trim(line).empty()) continue;
    auto colon = line.find(':');
    if (colon == std::string::npos)
      return Status::Invalid("process-types line " + std::to_string(n) + " is not 'name: command': " + Quote(line));
    std::string name = Trim(line.substr(0, colon)), cmd = Trim(line.substr(colon + 1));
    if (!ValidName(name, false))
      return Status::Invalid("process type name " + Quote(name) + " (line " + std::to_string(n) +
                             ") must be 1-63 of A-Z a-z 0-9 _ -");
    if (cmd.empty()) return Status::Invalid("process type '" + name + "' has no command");
    if (cmd.size() > kMaxCommandBytes)
      return Status::Invalid("process type '" + name + "' has a command over " + std::to_string(kMaxCommandBytes) +
                             " bytes");
    for (unsigned char c : cmd)
      if (c < 0x20 && c != '\t') return Status::Invalid("process type '" + name + "' has a control character");
    // The command goes into the image's JSON config and labels.
    if (!IsUtf8(cmd)) return Status::Invalid("process type '" + name + "' has a command that is not UTF-8");
    bool replaced = false;
    for (auto& [k, v] : out)
      if (k == name) {
        v = cmd;
        replaced = true;
      }
    if (!replaced) {
      if (out.size() >= kMaxProcessTypes)
        return Status::Invalid("more than " + std::to_string(kMaxProcessTypes) + " process types");
      out.emplace_back(name, cmd);
    }
  }
  return out;
}

Result<std::vector<std::string>> ParseBuildpacks(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::string name = Trim(line);
    if (name.empty()) continue;
    if (!ValidName(name, true)) return Status::Invalid("buildpack name " + Quote(name) + " is not valid");
    if (out.size() >= 32) return Status::Invalid("more than 32 buildpacks");
    out.push_back(name);
  }
  return out;
}

std::string DefaultCommand(const ProcessTypes& types) {
  for (const auto& [k, v] : types)
    if (k == "web") return v;
  return types.empty() ? "" : types.front().second;
}

Status ValidateAppName(const std::string& app) {
  std::vector<std::string> parts;
  std::string cur;
  for (char c : app) {
    if (c == '/') {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  parts.push_back(cur);
  auto ok = [](const std::string& p) {
    if (p.empty() || p.size() > 63) return false;
    if (!((p[0] >= 'a' && p[0] <= 'z') || (p[0] >= '0' && p[0] <= '9'))) return false;
    for (char c : p)
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
    return true;
  };
  if (parts.size() != 3 || !ok(parts[0]) || !ok(parts[1]) || !ok(parts[2]))
    return Status::Invalid("app " + Quote(app) + " is not TENANT/ENV/APP (each [a-z0-9][a-z0-9_-]*, at most 63)");
  return Status::Ok();
}

std::string ProcessTypesJson(const ProcessTypes& types) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& [k, v] : types) j[k] = v;
  return j.dump();
}

std::string BuildpacksJson(const std::vector<std::string>& packs) { return nlohmann::json(packs).dump(); }

std::string ResultLine(const BuildResult& r) {
  nlohmann::ordered_json j;
  j["image"] = r.repo + "@" + r.digest;
  j["digest"] = r.digest;
  j["size_bytes"] = r.size_bytes;
  j["process_types"] = nlohmann::ordered_json::object();
  for (const auto& [k, v] : r.process_types) j["process_types"][k] = v;
  j["buildpacks"] = r.buildpacks;
  j["seconds"] = Round3(r.seconds);
  j["steps"] = nlohmann::ordered_json::object();
  for (const auto& [k, v] : r.steps) j["steps"][k] = Round3(v);
  // Replacement, not an exception, for invalid UTF-8 in a command.
  return "builder: result " + j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string ErrorLine(const std::string& reason) {
  std::string out;
  OutputFilter f({.max_line_bytes = 1000, .max_total_bytes = 4000}, [&](std::string_view l) {
    if (!out.empty()) out += " | ";
    if (out.size() < 1000) out += l;
  });
  f.Feed(reason);
  f.Finish();
  if (out.empty()) out = "build failed";
  return "builder: error " + out;  // at most ~2 KB: lines are only added while under 1000 bytes
}

}  // namespace rv::builder
