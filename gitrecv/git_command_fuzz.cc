// libFuzzer target: a hostile SSH_ORIGINAL_COMMAND through ParseGitCommand
// and ParseConsoleCommand. Whatever the first accepts must name a repo
// strictly inside the root: exactly TENANT/ENV/APP.git under it, no "." or
// ".." component, no byte a shell or git would read as more than a name.
// Whatever the second accepts is a valid app and one bounded, printable UTF-8
// line that the runner takes as it is (ValidateCommandLine). Whatever the
// third (an app command) accepts is one app and only listed words (a config
// var only as a KEY=VALUE or KEY word, never a flag), and the runner's parse
// of its request gives the same rv command.
#include <cstdlib>
#include <string>

#include "common/utf8.h"
#include "gitrecv/console_command.h"
#include "gitrecv/git_command.h"
#include "gitrecv/app_command.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string cmd(reinterpret_cast<const char*>(data), size);
  if (auto run = rv::gitrecv::ParseConsoleCommand(cmd); run.ok()) {
    if (!rv::names::ParseAppRef(run->app.ToString()).ok()) abort();
    const std::string& l = run->line;
    if (l.empty() || l.size() > rv::gitrecv::kMaxCommandLine || !rv::IsUtf8(l) || rv::HasControlByte(l)) abort();
    if (!rv::gitrecv::ValidateCommandLine(l).ok()) abort();
    if (!rv::gitrecv::IsConsole(cmd)) abort();
  } else if (run.status().message().empty()) {
    abort();  // a refusal says why
  }
  if (auto app = rv::gitrecv::ParseAppCommand(cmd); app.ok()) {
    if (!rv::gitrecv::IsAppCommand(cmd) || rv::gitrecv::IsConsole(cmd)) abort();
    auto again = rv::gitrecv::ParseAppRequest(app->app.ToString(), app->Words());
    if (!again.ok() || again->RvArgs() != app->RvArgs() || again->Writes() != app->Writes()) abort();
    for (const auto& a : app->RvArgs()) {
      if (a.empty() || rv::HasControlByte(a)) abort();
      if (a[0] == '-' && a != "--safe" && a != "-f" && a != "--router" && a != "--secret") abort();  // no flag of the customer's own
    }
    // A var is one of the words the customer gave, KEY=VALUE (set) or KEY.
    for (const auto& v : app->vars) {
      if (v.empty() || v[0] == '-' || v.find(' ') != std::string::npos) abort();
      if ((app->verb == "config:set") != (v.find('=') != std::string::npos)) abort();
    }
    if (!app->vars.empty() && app->verb.rfind("config:", 0) != 0) abort();
    if (!app->name.empty() && (app->verb.rfind("domains:", 0) != 0 || !isalnum(static_cast<unsigned char>(app->name[0]))))
      abort();
    if (app->RvArgs().size() > 5 + app->vars.size()) abort();
  } else if (app.status().message().empty()) {
    abort();
  }
  auto c = rv::gitrecv::ParseGitCommand(cmd);
  if (!c.ok()) {
    if (c.status().message().empty()) abort();  // a refusal says why
    return 0;
  }
  const std::string root = "/srv/repos";
  std::string path = rv::gitrecv::RepoPath(root, c->app);
  if (path.rfind(root + "/", 0) != 0) abort();
  std::string rest = path.substr(root.size() + 1);
  if (rest.size() < 4 || rest.compare(rest.size() - 4, 4, ".git") != 0) abort();
  int parts = 0;
  size_t start = 0;
  for (size_t i = 0; i <= rest.size(); ++i) {
    if (i == rest.size() || rest[i] == '/') {
      std::string part = rest.substr(start, i - start);
      if (part.empty() || part == "." || part == ".." || part[0] == '-') abort();
      ++parts;
      start = i + 1;
    }
  }
  if (parts != 3) abort();
  for (unsigned char ch : rest)
    if (ch < 0x21 || ch > 0x7E || std::string("'\"`$\\;&|<>(){}*?[]~!#").find(static_cast<char>(ch)) != std::string::npos)
      abort();
  return 0;
}
