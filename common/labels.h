// Label matching: whether a host's labels satisfy a job's constraints (every
// constrained key present with the wanted value). The one rule elrond's
// feasibility, its host sampling and a strider's bidder apply.
//
// Contract: pure, thread-safe; an empty constraint set matches every host.
#pragma once

#include <map>
#include <optional>
#include <string>

namespace rv {

using Labels = std::map<std::string, std::string>;

struct LabelMismatch {
  std::string key;
  std::string want;
  std::optional<std::string> have;  // nullopt: the host has no such label

  // "k=v" (the constraint broken).
  std::string Constraint() const { return key + "=" + want; }
  // "constraint k=v: host has no label k" / "...: host has k=w".
  std::string Describe() const;
};

// The first constraint (in key order) the labels break, if any.
std::optional<LabelMismatch> FirstMismatch(const Labels& host, const Labels& constraints);
bool Matches(const Labels& host, const Labels& constraints);

}  // namespace rv
