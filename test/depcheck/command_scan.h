// Finds the external programs a source file runs, so a guard can check that each
// one comes from a Debian package that scripts/install-deps installs.
//
// Contract: pure text in, names out; no file system, no PATH. A name is returned
// with how sure the scan is that it is a program:
//   * kStrong: it stands where a program must stand: a shell command position
//     (after `|`, `;`, `&&`, `$(`, `then`, `exec`, `timeout 5`, `ip netns exec NS`,
//     `nsenter ... --`, ...), the command string of a C++ call that runs a shell or
//     a program (`Sh("ping -c 1 ...")`, `system`, `popen`, `execlp`, `RunCmd({"ip"`),
//     or an absolute path in /usr/bin, /usr/sbin, /bin or /sbin. A strong name
//     that is not on the machine is an error: the tree runs a program the machine
//     lacks.
//   * kWeak: the first string of a C++ brace list (`{"iptables", "-w", "2"}`),
//     which may be an argv or any other list. The guard checks a weak name only
//     when it resolves to a program, so data lists cost nothing.
// Shell builtins, keywords and the functions a scanned script defines are never
// returned. Thread-safe: no state.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace rv::depcheck {

enum class Certainty { kStrong, kWeak };

struct CommandUse {
  std::string name;   // the program's name (basename for absolute paths)
  int line = 0;       // 1-based line where it is run
  Certainty certainty = Certainty::kStrong;
};

// The programs run by a shell script (bash or sh). Heredocs and comments are skipped.
std::vector<CommandUse> CommandsInShell(std::string_view text);

// The programs run by a C++ source file.
std::vector<CommandUse> CommandsInCxx(std::string_view text);

// The names of the shell functions a script defines (`name() {`, `function name`).
std::set<std::string> ShellFunctions(std::string_view text);

// The packages named in scripts/install-deps's `packages=( ... )` array.
std::set<std::string> PackagesInInstallDeps(std::string_view text);

}  // namespace rv::depcheck
