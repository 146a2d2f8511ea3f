#include "gitrecv/view_command.h"

#include <sstream>

#include "common/utf8.h"

namespace rv::gitrecv {
namespace {

constexpr char kUsage[] =
    "usage: ssh ... logs TENANT/ENV/APP [-f] [--router] | ps APP | releases APP | builds APP | builds:output APP N";
constexpr size_t kMaxLine = 512;
const char* const kVerbs[] = {"logs", "ps", "releases", "builds", "builds:output"};

std::string FirstWord(const std::string& s) { return s.substr(0, s.find(' ')); }

}  // namespace

bool IsView(const std::string& cmd) {
  const std::string verb = FirstWord(cmd);
  for (const char* v : kVerbs)
    if (verb == v) return true;
  return false;
}

Result<ViewCommand> ParseViewCommand(const std::string& cmd) {
  if (!IsView(cmd)) return Status::Invalid(std::string("not a command of this git server (") + kUsage + ")");
  if (cmd.size() > kMaxLine) return Status::Invalid("the command is too long");
  if (HasControlByte(cmd)) return Status::Invalid("the command holds a control character (tab, newline...): one line, please");
  std::vector<std::string> words;
  std::istringstream in(cmd);
  for (std::string w; in >> w;) words.push_back(w);
  if (words.size() < 2) return Status::Invalid("which app? (" + std::string(kUsage) + ")");
  ViewCommand v;
  v.verb = words[0];
  auto app = names::ParseAppRef(words[1]);
  if (!app.ok()) {
    return Status::Invalid("the app " + names::Quote(words[1]) + " must be TENANT/ENV/APP (" + app.status().message() + ")");
  }
  v.app = *app;
  for (size_t i = 2; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (v.verb == "logs" && (w == "-f" || w == "--tail" || w == "--follow") && !v.follow) {
      v.follow = true;
    } else if (v.verb == "logs" && w == "--router" && !v.router) {
      v.router = true;
    } else if (v.verb == "builds:output" && v.build == 0 && !w.empty() && w.size() <= 9 &&
               w.find_first_not_of("0123456789") == std::string::npos && w != std::string(w.size(), '0')) {
      v.build = std::stoll(w);
    } else {
      return Status::Invalid(v.verb + " does not take " + names::Quote(w) + " (" + kUsage + ")");
    }
  }
  if (v.verb == "builds:output" && v.build == 0) return Status::Invalid("which build? (builds:output APP N)");
  return v;
}

Result<ViewCommand> ParseViewRequest(const std::string& app, const std::string& words) {
  const std::string verb = FirstWord(words);
  return ParseViewCommand(verb + " " + app + words.substr(verb.size()));
}

std::string ViewCommand::Words() const {
  std::string w = verb;
  if (follow) w += " -f";
  if (router) w += " --router";
  if (build > 0) w += " " + std::to_string(build);
  return w;
}

std::vector<std::string> ViewCommand::RvArgs() const {
  // rv's own subcommand names: builds-output is builds:output's other spelling.
  std::vector<std::string> a{verb == "builds:output" ? "builds-output" : verb, app.ToString()};
  if (verb == "logs") a.push_back("--safe");  // the customer's terminal, though ssh gives rv none
  if (follow) a.push_back("-f");
  if (router) a.push_back("--router");
  if (build > 0) a.push_back(std::to_string(build));
  return a;
}

}  // namespace rv::gitrecv
