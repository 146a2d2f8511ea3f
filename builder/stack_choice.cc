#include "builder/stack_choice.h"

#include <algorithm>

namespace rv::builder {

namespace {

bool PackName(std::string_view s) {
  if (s.empty() || s.size() > 63 || s[0] == '.') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view l = text.substr(0, nl);
    while (!l.empty() && (l.back() == '\r' || l.back() == ' ' || l.back() == '\t')) l.remove_suffix(1);
    if (!l.empty()) out.push_back(l);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

std::string Printable(std::string_view s, size_t cap) {
  std::string out;
  for (char c : s.substr(0, cap)) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  if (s.size() > cap) out += "...";
  return out;
}

}  // namespace

Result<StackChoice> ChooseStack(int exit_code, std::string_view output) {
  auto lines = Lines(output);
  if (exit_code != 0) {
    if (lines.empty()) return Status::Invalid("choosing the buildpacks failed (exit " + std::to_string(exit_code) + ")");
    std::string_view why = lines.back();
    // The driver's failures read " !     reason".
    while (!why.empty() && (why.front() == ' ' || why.front() == '!')) why.remove_prefix(1);
    return Status::Invalid(Printable(why, 300));
  }
  if (lines.empty()) return Status::Invalid("choosing the buildpacks named no buildpack");
  if (lines.size() > 8) return Status::Invalid("choosing the buildpacks named more than 8 buildpacks");
  StackChoice c;
  for (auto l : lines) {
    if (!PackName(l)) return Status::Invalid("choosing the buildpacks printed '" + Printable(l, 64) + "', not a buildpack name");
    c.packs.emplace_back(l);
  }
  bool python = std::find(c.packs.begin(), c.packs.end(), "python") != c.packs.end();
  c.stack = python ? kPythonStack : kBusyboxStack;
  std::string names;
  for (const auto& p : c.packs) names += (names.empty() ? "" : ", ") + p;
  c.why = python ? "for the python buildpack" : "for the " + names + (c.packs.size() > 1 ? " buildpacks" : " buildpack");
  return c;
}

}  // namespace rv::builder
