#include "gitrecv/app_command.h"

#include <set>
#include <sstream>

#include "common/utf8.h"

namespace rv::gitrecv {
namespace {

constexpr char kUsage[] =
    "usage: ssh ... logs TENANT/ENV/APP [-f] [--router] | ps APP | releases APP | builds APP | builds:output APP N | "
    "config APP | config:set APP [--secret] KEY=VALUE... | config:unset APP KEY... | rollback APP [vN] | restart APP | "
    "domains APP | domains:add APP NAME | domains:remove APP NAME";
constexpr size_t kMaxLine = 512;
constexpr size_t kMaxConfigLine = 4096;  // config:set's values (the runner's request holds 8 KiB)
const char* const kVerbs[] = {"logs",    "ps",      "releases", "builds",      "builds:output",  "config", "config:set",
                              "config:unset", "rollback", "restart", "domains", "domains:add", "domains:remove"};

std::string FirstWord(const std::string& s) { return s.substr(0, s.find(' ')); }

// A config var's name as far as the words go: letters, digits and _ (sauron
// says the rest: no leading digit, no RV_ prefix, at most 256 bytes).
bool IsVarName(const std::string& w) {
  if (w.empty() || w.size() > 256) return false;
  for (unsigned char c : w)
    if (!isalnum(c) && c != '_') return false;
  return true;
}

// A DNS name as far as the words go: letters, digits, '.' and '-', never a
// flag (sauron checks the rest: labels, the pod's own domain, who has it).
bool IsDnsWord(const std::string& w) {
  if (w.empty() || w.size() > 253 || !isalnum(static_cast<unsigned char>(w[0]))) return false;
  for (unsigned char c : w)
    if (!isalnum(c) && c != '.' && c != '-') return false;
  return true;
}

// 1-999999999 without a leading zero; 0 if `w` is not one.
int64_t Number(const std::string& w) {
  if (w.empty() || w.size() > 9 || w[0] == '0' || w.find_first_not_of("0123456789") != std::string::npos) return 0;
  return std::stoll(w);
}

}  // namespace

bool IsAppCommand(const std::string& cmd) {
  const std::string verb = FirstWord(cmd);
  for (const char* v : kVerbs)
    if (verb == v) return true;
  return false;
}

Result<AppCommand> ParseAppCommand(const std::string& cmd) {
  if (!IsAppCommand(cmd)) return Status::Invalid(std::string("not a command of this git server (") + kUsage + ")");
  if (cmd.size() > (FirstWord(cmd) == "config:set" ? kMaxConfigLine : kMaxLine))
    return Status::Invalid("the command is too long");
  if (HasControlByte(cmd)) return Status::Invalid("the command holds a control character (tab, newline...): one line, please");
  std::vector<std::string> words;
  std::istringstream in(cmd);
  for (std::string w; in >> w;) words.push_back(w);
  if (words.size() < 2) return Status::Invalid("which app? (" + std::string(kUsage) + ")");
  AppCommand c;
  c.verb = words[0];
  auto app = names::ParseAppRef(words[1]);
  if (!app.ok()) {
    return Status::Invalid("the app " + names::Quote(words[1]) + " must be TENANT/ENV/APP (" + app.status().message() + ")");
  }
  c.app = *app;
  std::set<std::string> seen;  // config var names given
  for (size_t i = 2; i < words.size(); ++i) {
    const std::string& w = words[i];
    const std::string name = w.substr(0, c.verb == "config:set" ? w.find('=') : std::string::npos);
    if (c.verb == "config:set" && w == "--secret" && !c.secret) {
      c.secret = true;
    } else if ((c.verb == "config:set" && name.size() < w.size()) || c.verb == "config:unset") {
      if (!IsVarName(name)) {
        return Status::Invalid("a config var's name holds only letters, digits and _ (got " + names::Quote(name, 64) + ")");
      }
      if (!seen.insert(name).second) return Status::Invalid(name + " is given twice");
      c.vars.push_back(w);
    } else if (c.verb == "config:set") {
      return Status::Invalid("config:set takes KEY=VALUE words, not " + names::Quote(w, 64) +
                             " (over ssh a value holds no spaces)");
    } else if ((c.verb == "domains:add" || c.verb == "domains:remove") && c.name.empty()) {
      if (!IsDnsWord(w)) return Status::Invalid(names::Quote(w, 64) + " is not a DNS name (e.g. shop.example.com)");
      c.name = w;
    } else if (c.verb == "logs" && (w == "-f" || w == "--tail" || w == "--follow") && !c.follow) {
      c.follow = true;
    } else if (c.verb == "logs" && w == "--router" && !c.router) {
      c.router = true;
    } else if (c.verb == "builds:output" && c.number == 0 && Number(w) > 0) {
      c.number = Number(w);
    } else if (c.verb == "rollback" && c.number == 0 && w.size() > 1 && w[0] == 'v' && Number(w.substr(1)) > 0) {
      c.number = Number(w.substr(1));
    } else {
      return Status::Invalid(c.verb + " does not take " + names::Quote(w) + " (" + kUsage + ")");
    }
  }
  if (c.verb == "builds:output" && c.number == 0) return Status::Invalid("which build? (builds:output APP N)");
  if (c.verb == "config:set" && c.vars.empty()) return Status::Invalid("which vars? (config:set APP KEY=VALUE...)");
  if (c.verb == "config:unset" && c.vars.empty()) return Status::Invalid("which vars? (config:unset APP KEY...)");
  if ((c.verb == "domains:add" || c.verb == "domains:remove") && c.name.empty())
    return Status::Invalid("which name? (" + c.verb + " APP NAME)");
  return c;
}

Result<AppCommand> ParseAppRequest(const std::string& app, const std::string& words) {
  const std::string verb = FirstWord(words);
  return ParseAppCommand(verb + " " + app + words.substr(verb.size()));
}

std::string AppCommand::Words() const {
  std::string w = verb;
  if (follow) w += " -f";
  if (router) w += " --router";
  if (number > 0) w += (verb == "rollback" ? " v" : " ") + std::to_string(number);
  if (secret) w += " --secret";
  for (const auto& v : vars) w += " " + v;
  if (!name.empty()) w += " " + name;
  return w;
}

std::vector<std::string> AppCommand::RvArgs() const {
  // rv's own subcommand names: builds-output is builds:output's other spelling
  // (and so on); config and its changes are the app's environment's vars.
  const bool config = verb.rfind("config", 0) == 0;
  std::string sub = verb;
  if (auto colon = sub.find(':'); colon != std::string::npos) sub[colon] = '-';
  std::vector<std::string> a{sub, config ? app.EnvRef() : app.ToString()};
  if (secret) a.push_back("--secret");
  if (verb == "logs") a.push_back("--safe");  // the customer's terminal, though ssh gives rv none
  if (follow) a.push_back("-f");
  if (router) a.push_back("--router");
  if (number > 0) a.push_back(std::string(verb == "rollback" ? "v" : "").append(std::to_string(number)));
  a.insert(a.end(), vars.begin(), vars.end());
  if (!name.empty()) a.push_back(name);
  return a;
}

}  // namespace rv::gitrecv
