#include "test/depcheck/dep_check.h"

namespace rv::depcheck {

Verdict Check(const std::vector<Use>& uses, const std::set<std::string>& project_names,
              const std::set<std::string>& install_deps, Machine& machine) {
  Verdict v;
  // One verdict per program, with every place that runs it.
  std::map<std::string, std::vector<const Use*>> by_program;
  for (const Use& u : uses) by_program[u.use.name].push_back(&u);

  for (const auto& [program, list] : by_program) {
    if (project_names.count(program)) { v.ok[program] = "project"; continue; }
    bool strong = false;
    std::vector<std::string> where;
    for (const Use* u : list) {
      strong = strong || u->use.certainty == Certainty::kStrong;
      if (where.size() < 3) where.push_back(u->file + ":" + std::to_string(u->use.line));
    }
    std::optional<std::string> path = machine.Which(program);
    if (!path) {
      if (strong) {
        v.problems.push_back({program, "", where,
                              "'" + program + "' is run but not installed on this machine; a new machine will not "
                              "have it either: add the Debian package that ships it to scripts/install-deps"});
      }
      continue;
    }
    std::vector<std::string> pkgs = machine.PackagesOf(*path);
    if (pkgs.empty()) {
      if (strong) {
        v.problems.push_back({program, "", where,
                              "'" + program + "' (" + *path + ") comes from no Debian package: install it from one "
                              "(scripts/install-deps) or build it in the tree"});
      }
      continue;
    }
    bool installed = false;
    for (const std::string& p : pkgs) {
      if (install_deps.count(p) || machine.Essential(p)) {
        v.ok[program] = p;
        installed = true;
        break;
      }
    }
    if (installed) continue;
    v.problems.push_back({program, pkgs.front(), where,
                          "'" + program + "' comes from Debian package " + pkgs.front() +
                              ", which scripts/install-deps does not install (and is not Essential)"});
  }
  return v;
}

}  // namespace rv::depcheck
