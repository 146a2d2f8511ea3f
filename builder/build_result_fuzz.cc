// libFuzzer target: the hostile files a build leaves in OUT_DIR (the app's
// Procfile as process types, the buildpacks list) through their parsers.
// Whatever is accepted must be what the image labels and the deploy rely on:
// bounded, unique, valid names; commands non-empty, trimmed, bounded, without
// control characters; labels that are valid JSON. A refusal says why in one
// printable line (it ends up in the customer's push output; the builder's
// OutputFilter, which quotes the line, keeps TAB).
#include <cstdlib>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "builder/build_result.h"
#include "common/utf8.h"

namespace {

bool NameOk(const std::string& s, bool dot) {
  if (s.empty() || s.size() > 63 || s == "." || s == "..") return false;
  for (unsigned char c : s)
    if (!isalnum(c) && c != '_' && c != '-' && !(dot && c == '.')) return false;
  return true;
}

void CheckRefusal(const rv::Status& s) {
  if (s.message().empty()) abort();
  for (unsigned char c : s.message())
    if ((c < 0x20 && c != '\t') || c == 0x7f) abort();  // TAB: OutputFilter keeps it
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) {
    auto packs = rv::builder::ParseBuildpacks(text);
    if (!packs.ok()) return CheckRefusal(packs.status()), 0;
    for (const auto& p : *packs)
      if (!NameOk(p, true)) abort();
    if (!nlohmann::json::parse(rv::builder::BuildpacksJson(*packs), nullptr, false).is_array()) abort();
    return 0;
  }
  auto types = rv::builder::ParseProcessTypes(text);
  if (!types.ok()) return CheckRefusal(types.status()), 0;
  if (types->size() > rv::builder::kMaxProcessTypes) abort();
  std::set<std::string> seen;
  for (const auto& [name, cmd] : *types) {
    if (!NameOk(name, false) || !seen.insert(name).second) abort();
    if (cmd.empty() || cmd.size() > rv::builder::kMaxCommandBytes) abort();
    if (cmd.front() == ' ' || cmd.front() == '\t' || cmd.back() == ' ' || cmd.back() == '\t') abort();
    for (unsigned char c : cmd)
      if (c < 0x20 && c != '\t') abort();
    if (!rv::IsUtf8(cmd)) abort();
  }
  std::string def = rv::builder::DefaultCommand(*types);
  if (types->empty() != def.empty()) abort();
  auto j = nlohmann::json::parse(rv::builder::ProcessTypesJson(*types), nullptr, false);
  if (j.is_discarded()) abort();
  return 0;
}
