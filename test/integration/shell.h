// Runs a shell command for an integration test and keeps its exit code and
// combined output (the tests drive `rv` and `scripts/pod` as an operator would).
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace rv::test {

struct Output {
  int code = -1;
  std::string text;  // stdout + stderr
};

inline Output Sh(const std::string& cmd) {
  Output out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.text.append(buf.data(), n);
  int st = pclose(p);
  out.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

}  // namespace rv::test
