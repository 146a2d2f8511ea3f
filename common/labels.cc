#include "common/labels.h"

namespace rv {

std::string LabelMismatch::Describe() const {
  return "constraint " + Constraint() + ": host has " + (have ? key + "=" + *have : "no label " + key);
}

std::optional<LabelMismatch> FirstMismatch(const Labels& host, const Labels& constraints) {
  for (const auto& [k, v] : constraints) {
    auto it = host.find(k);
    if (it == host.end()) return LabelMismatch{k, v, std::nullopt};
    if (it->second != v) return LabelMismatch{k, v, it->second};
  }
  return std::nullopt;
}

bool Matches(const Labels& host, const Labels& constraints) { return !FirstMismatch(host, constraints); }

}  // namespace rv
