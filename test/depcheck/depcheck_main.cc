// depcheck: lists every external program the tree's scripts, tests, benchmarks and
// daemons run, finds the Debian package of each (dpkg -S), and fails unless that
// package is Essential or named in scripts/install-deps. Run by CTest (and so by
// scripts/test and CI), so a missing install step fails on the machine that has
// the program too, not only on a brand-new one.
//
//   depcheck --root SRC [--exclude PREFIX]... [--list]
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>

#include "test/depcheck/dep_check.h"

namespace fs = std::filesystem;
using namespace rv::depcheck;

namespace {

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The command's stdout and whether it exited 0.
std::pair<std::string, bool> Run(const std::string& cmd) {
  FILE* p = popen((cmd + " 2>/dev/null").c_str(), "r");
  if (!p) return {"", false};
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int st = pclose(p);
  return {out, st == 0};
}

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

class DpkgMachine : public Machine {
 public:
  std::optional<std::string> Which(const std::string& name) override {
    // Debian's directories first: a program that also exists elsewhere on this
    // machine (pyenv, /usr/local) must still come from a package on a new one.
    std::string path = "/usr/sbin:/usr/bin:/sbin:/bin:";
    path += std::getenv("PATH") ? std::getenv("PATH") : "";
    std::stringstream ss(path);
    std::string dir;
    while (std::getline(ss, dir, ':')) {
      if (dir.empty()) continue;
      fs::path p = fs::path(dir) / name;
      if (access(p.c_str(), X_OK) == 0 && fs::is_regular_file(p)) return p.string();
    }
    return std::nullopt;
  }
  std::vector<std::string> PackagesOf(const std::string& path) override {
    std::vector<std::string> out;
    std::error_code ec;
    fs::path real = fs::canonical(path, ec);
    for (const std::string& p : {path, ec ? path : real.string()}) {
      std::string pkg = Owner(p);
      if (!pkg.empty() && std::find(out.begin(), out.end(), pkg) == out.end()) out.push_back(pkg);
    }
    return out;
  }

 private:
  static std::string Owner(const std::string& path) {
    // usr-merged systems: dpkg may have recorded /bin/x for /usr/bin/x, or the reverse.
    std::vector<std::string> tries = {path};
    if (path.rfind("/usr/", 0) == 0) tries.push_back(path.substr(4));
    else tries.push_back("/usr" + path);
    for (const std::string& t : tries) {
      auto [out, ok] = Run("dpkg -S " + Quote(t));
      if (!ok || out.empty()) continue;
      std::string first = out.substr(0, out.find('\n'));
      if (first.find("diversion by") != std::string::npos) continue;
      std::string pkgs = first.substr(0, first.find(": "));
      std::string pkg = pkgs.substr(0, pkgs.find(','));
      return pkg.substr(0, pkg.find(':'));  // drop an architecture qualifier
    }
    return "";
  }

 public:
  bool Essential(const std::string& package) override {
    auto [out, ok] = Run("dpkg-query -W -f='${Essential}' " + Quote(package));
    return ok && out == "yes";
  }
};

bool IsShell(const fs::path& p, const std::string& text) {
  std::string ext = p.extension().string();
  if (ext == ".sh" || ext == ".bash") return true;
  if (text.rfind("#!", 0) != 0) return false;
  std::string first = text.substr(0, text.find('\n'));
  return std::regex_search(first, std::regex("\\b(ba|da|)sh\\b"));
}

std::vector<fs::path> Files(const fs::path& root) {
  std::vector<fs::path> out;
  auto [list, ok] = Run("git -C " + Quote(root.string()) + " ls-files --cached --others --exclude-standard");
  if (ok && !list.empty()) {
    std::stringstream ss(list);
    std::string l;
    while (std::getline(ss, l)) if (!l.empty()) out.push_back(l);
    return out;
  }
  for (auto& e : fs::recursive_directory_iterator(root)) {
    fs::path rel = fs::relative(e.path(), root);
    std::string r = rel.string();
    if (r.rfind("build", 0) == 0 || r.rfind(".git", 0) == 0) continue;
    if (e.is_regular_file()) out.push_back(rel);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  fs::path root = ".";
  std::vector<std::string> excludes;
  bool list = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--root" && i + 1 < argc) root = argv[++i];
    else if (a == "--exclude" && i + 1 < argc) excludes.push_back(argv[++i]);
    else if (a == "--list") list = true;
    else if (a == "--scan" && i + 1 < argc) {  // debugging: the uses found in one file
      fs::path f = argv[++i];
      std::string t = Slurp(f);
      std::string ext = f.extension().string();
      auto uses = ext == ".cc" || ext == ".h" ? CommandsInCxx(t) : CommandsInShell(t);
      for (auto& u : uses)
        std::cout << u.line << " " << u.name << (u.certainty == Certainty::kWeak ? " (weak)" : "") << "\n";
      return 0;
    }
    else { std::cerr << "usage: depcheck --root SRC [--exclude PREFIX]... [--list]\n"; return 2; }
  }

  std::vector<Use> uses;
  std::set<std::string> project;
  std::set<std::string> deps;
  size_t shell_files = 0, cxx_files = 0;
  static const std::regex exe("add_executable\\(\\s*([A-Za-z0-9_.+-]+)");
  for (const fs::path& rel : Files(root)) {
    std::string r = rel.string();
    fs::path full = root / rel;
    if (!fs::is_regular_file(full)) continue;
    bool excluded = false;
    for (const std::string& x : excludes) excluded = excluded || r.rfind(x, 0) == 0;
    std::string name = rel.filename().string();
    if (name == "CMakeLists.txt") {
      std::string t = Slurp(full);
      for (auto it = std::sregex_iterator(t.begin(), t.end(), exe); it != std::sregex_iterator(); ++it)
        project.insert((*it)[1]);
      continue;
    }
    if (r == "scripts/install-deps") deps = PackagesInInstallDeps(Slurp(full));
    std::string ext = rel.extension().string();
    if (ext == ".cc" || ext == ".h") {
      if (excluded) continue;
      ++cxx_files;
      for (CommandUse& u : CommandsInCxx(Slurp(full))) uses.push_back({r, u});
      continue;
    }
    if (ext == ".md" || ext == ".json" || ext == ".txt") continue;
    std::string text = Slurp(full);
    if (!IsShell(rel, text)) continue;
    // The tree's own scripts and functions are project names wherever they are.
    project.insert(name);
    for (const std::string& f : ShellFunctions(text)) project.insert(f);
    if (excluded) continue;
    ++shell_files;
    for (CommandUse& u : CommandsInShell(text)) uses.push_back({r, u});
  }
  if (deps.empty()) {
    std::cerr << "depcheck: no packages=( ... ) found in " << (root / "scripts/install-deps") << "\n";
    return 2;
  }

  DpkgMachine machine;
  Verdict v = Check(uses, project, deps, machine);
  if (list) {
    for (auto& [prog, pkg] : v.ok) std::cout << "  ok  " << prog << "  (" << pkg << ")\n";
  }
  std::cout << "depcheck: " << shell_files << " shell and " << cxx_files << " C++ files run " << v.ok.size() + v.problems.size()
            << " distinct programs; " << v.problems.size() << " not installed by scripts/install-deps\n";
  for (const Finding& f : v.problems) {
    std::cout << "  MISSING " << f.program << ": " << f.message << "\n     run at:";
    for (const std::string& w : f.where) std::cout << " " << w;
    std::cout << "\n";
  }
  return v.problems.empty() ? 0 : 1;
}
