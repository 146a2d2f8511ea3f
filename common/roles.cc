#include "common/roles.h"

namespace rv {
namespace {

constexpr PodKey kPodKeys[] = {
    {"admin", Role::kAdmin},
    {"elrond", Role::kScheduler},
    {"gitrecv", Role::kGitrecv},
    {"builder", Role::kBuilder},
    {"edge", Role::kEdge},
};

}  // namespace

std::string_view RoleName(Role r) {
  switch (r) {
    case Role::kNone: return "none";
    case Role::kAdmin: return "admin";
    case Role::kScheduler: return "scheduler";
    case Role::kHost: return "host";
    case Role::kGitrecv: return "gitrecv";
    case Role::kBuilder: return "builder";
    case Role::kEdge: return "edge";
  }
  return "none";
}

std::optional<Role> ParseRole(std::string_view name) {
  for (Role r : kAllRoles) {
    if (RoleName(r) == name) return r;
  }
  return std::nullopt;
}

std::string RoleSet::Names() const {
  std::string out;
  for (Role r : kAllRoles) {
    if (!Has(r)) continue;
    if (!out.empty()) out += " or ";
    out += RoleName(r);
  }
  return out.empty() ? "nobody" : out;
}

std::span<const PodKey> PodKeys() { return kPodKeys; }

std::optional<Role> PodKeyRole(std::string_view user_id) {
  for (const auto& k : kPodKeys) {
    if (k.name == user_id) return k.role;
  }
  return std::nullopt;
}

bool IsReservedKeyName(std::string_view id) { return id == "sauron" || PodKeyRole(id).has_value(); }

}  // namespace rv
