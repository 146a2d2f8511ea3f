#include "gitrecv/app_command.h"

#include <sstream>

#include "common/utf8.h"

namespace rv::gitrecv {
namespace {

constexpr char kUsage[] =
    "usage: ssh ... logs TENANT/ENV/APP [-f] [--router] | ps APP | releases APP | builds APP | builds:output APP N | "
    "config APP | rollback APP [vN]";
constexpr size_t kMaxLine = 512;
const char* const kVerbs[] = {"logs", "ps", "releases", "builds", "builds:output", "config", "rollback"};

std::string FirstWord(const std::string& s) { return s.substr(0, s.find(' ')); }

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
  if (cmd.size() > kMaxLine) return Status::Invalid("the command is too long");
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
  for (size_t i = 2; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (c.verb == "logs" && (w == "-f" || w == "--tail" || w == "--follow") && !c.follow) {
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
  return w;
}

std::vector<std::string> AppCommand::RvArgs() const {
  // rv's own subcommand names: builds-output is builds:output's other spelling;
  // config lists the app's environment's vars.
  std::vector<std::string> a{verb == "builds:output" ? "builds-output" : verb,
                             verb == "config" ? app.EnvRef() : app.ToString()};
  if (verb == "logs") a.push_back("--safe");  // the customer's terminal, though ssh gives rv none
  if (follow) a.push_back("-f");
  if (router) a.push_back("--router");
  if (number > 0) a.push_back((verb == "rollback" ? "v" : "") + std::to_string(number));
  return a;
}

}  // namespace rv::gitrecv
