// libFuzzer target: a hostile SSH_ORIGINAL_COMMAND through ParseGitCommand.
// Whatever it accepts must name a repo strictly inside the root: exactly
// TENANT/ENV/APP.git under it, no "." or ".." component, no byte a shell or
// git would read as more than a name.
#include <cstdlib>
#include <string>

#include "gitrecv/git_command.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string cmd(reinterpret_cast<const char*>(data), size);
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
