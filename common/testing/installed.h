// Installed({"ping", "ip"}): for tests that run external programs. A test checks
// its programs first, so a missing one fails as "ping is not installed" instead
// of looking like the fault under test (a missing ping reads as "no reply").
// Header-only, GoogleTest; looks in PATH and the sbin directories root uses.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <initializer_list>
#include <sstream>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

namespace rv::testing {

inline bool OnPath(std::string_view program) {
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  path += ":/usr/sbin:/usr/bin:/sbin:/bin";
  std::stringstream ss(path);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    if (!dir.empty() && access((dir + "/" + std::string(program)).c_str(), X_OK) == 0) return true;
  }
  return false;
}

inline ::testing::AssertionResult Installed(std::initializer_list<std::string_view> programs) {
  std::string missing;
  for (std::string_view p : programs) {
    if (!OnPath(p)) missing += (missing.empty() ? "" : ", ") + std::string(p);
  }
  if (missing.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << missing << (missing.find(',') == std::string::npos ? " is" : " are")
                                       << " not installed (scripts/install-deps installs what the tests run)";
}

}  // namespace rv::testing
