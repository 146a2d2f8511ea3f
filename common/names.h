// Names of tenants, environments, apps and users: one fixed rule, checked
// wherever a name enters (rv, sauron's API, the git server).
//
// Contract:
//  * A name is 1-40 characters of [a-z0-9-], starting and ending with a
//    letter or digit. So it is safe as a path component, a DNS label, a
//    git URL segment and a log field; "..", "/", spaces and upper case never
//    pass.
//  * An environment reference is "TENANT/ENV" (both names), or a lone ENV
//    name for environments that belong to no tenant.
//  * An app reference is "TENANT/ENV/APP".
//  * Pure functions, thread-safe. Messages quote at most 64 printable
//    characters of the refused input.
#pragma once

#include <string>

#include "common/status.h"

namespace rv::names {

inline constexpr size_t kMaxNameLength = 40;

// `what` names the field in the message ("tenant", "app", "user"...).
Status ValidateName(const std::string& name, const char* what);
Status ValidateEnvRef(const std::string& env);

struct AppRef {
  std::string tenant, env, app;
  std::string EnvRef() const { return tenant + "/" + env; }
  std::string ToString() const { return tenant + "/" + env + "/" + app; }
};
Result<AppRef> ParseAppRef(const std::string& ref);

// Printable, bounded copy of hostile input for messages.
std::string Quote(const std::string& s, size_t max = 64);

}  // namespace rv::names
