// The guard's decision: is every program the tree runs installed by
// scripts/install-deps on a brand-new Debian 12 machine?
//
// Contract: pure over an injected Machine (PATH lookups, dpkg's answers), so tests
// drive it with a fake. A program passes when it is a project name (built by
// CMake, a shell function of the tree, a script of the tree) or when it resolves on
// this machine to a file whose Debian package is Essential or is named in
// install-deps (for a symlink, either package will do). A strong use (see command_scan.h) of a program this machine does
// not have fails: a new machine would not have it either. A weak use that does
// not resolve is ignored. Not thread-safe (the Machine may cache).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "test/depcheck/command_scan.h"

namespace rv::depcheck {

class Machine {
 public:
  virtual ~Machine() = default;
  // The file `command -v NAME` finds; nullopt when none.
  virtual std::optional<std::string> Which(const std::string& name) = 0;
  // The Debian packages that ship `path` or the file its symlinks lead to (dpkg -S),
  // the link's own first: /usr/bin/g++ -> {g++, g++-12}. Empty when none does.
  virtual std::vector<std::string> PackagesOf(const std::string& path) = 0;
  virtual bool Essential(const std::string& package) = 0;
};

struct Use {
  std::string file;
  CommandUse use;
};

struct Finding {
  std::string program;
  std::string package;                 // "" when the program is not installed here
  std::vector<std::string> where;      // "file:line" of each use (first few)
  std::string message;                 // what is wrong and what to do
};

struct Verdict {
  std::vector<Finding> problems;
  std::map<std::string, std::string> ok;  // program -> package (or "project")
};

Verdict Check(const std::vector<Use>& uses, const std::set<std::string>& project_names,
              const std::set<std::string>& install_deps, Machine& machine);

}  // namespace rv::depcheck
