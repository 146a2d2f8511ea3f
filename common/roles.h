// Roles: what a caller of sauron's API may ask for.
//
// Contract:
//  * Every authenticated key speaks with exactly one role. The pod's own keys
//    (`<pod_dir>/keys/<name>.key`, ZAP User-Id = name) have a fixed role each,
//    listed once in PodKeys(); every other User-Id is a host id, and is a host
//    only while sauron has it enrolled.
//  * The names of the pod's keys (and "sauron") are reserved: no host may be
//    enrolled under one of them, so a User-Id never reads as two roles.
//  * RoleName/ParseRole round-trip; the names are what logs and docs print.
// Pure and thread-safe (constant tables only).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace rv {

enum class Role : uint8_t {
  kNone = 0,    // no key we know: refused everything
  kAdmin,       // the operator's CLI (rv)
  kScheduler,   // elrond
  kHost,        // an enrolled strider
  kGitrecv,     // the git server (receives pushes)
  kBuilder,     // a builder (turns a pushed tree into an image)
  kEdge,        // the pod's edge (rv-edge): reads names -> proxy endpoints only
};
inline constexpr Role kAllRoles[] = {Role::kAdmin, Role::kScheduler, Role::kHost, Role::kGitrecv, Role::kBuilder,
                                     Role::kEdge};

std::string_view RoleName(Role r);
std::optional<Role> ParseRole(std::string_view name);

// A set of roles (a request's allowed callers).
class RoleSet {
 public:
  constexpr RoleSet() = default;
  constexpr RoleSet(std::initializer_list<Role> roles) {
    for (Role r : roles) bits_ |= Bit(r);
  }
  constexpr bool Has(Role r) const { return r != Role::kNone && (bits_ & Bit(r)) != 0; }
  constexpr bool empty() const { return bits_ == 0; }
  // "admin", "admin or scheduler", ...
  std::string Names() const;

 private:
  static constexpr uint32_t Bit(Role r) { return 1u << static_cast<uint32_t>(r); }
  uint32_t bits_ = 0;
};

// One of the pod's own keys: its file name under keys/ (also its ZAP
// User-Id) and its role.
struct PodKey {
  std::string_view name;
  Role role;
};
std::span<const PodKey> PodKeys();

// The role of a pod key's User-Id; nullopt for any other id (a host's, or
// nobody's).
std::optional<Role> PodKeyRole(std::string_view user_id);

// Names no host may take (the pod keys' names and "sauron").
bool IsReservedKeyName(std::string_view id);

}  // namespace rv
