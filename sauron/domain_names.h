// Apps' DNS names: the one rule for a name, an app's default name, and which
// names an app may take (docs/PROXY.md, "Names and certificates").
//
// Contract:
//  * A name is lower-case LDH: labels of 1-63 [a-z0-9-] not starting or
//    ending with '-', joined by '.', at least two labels, at most 253
//    characters, no trailing dot; the last label is not all digits (so an IP
//    address is never a name). Wildcards ("*.example.com") are refused:
//    one certificate per exact name.
//  * The default name of TENANT/ENV/APP is APP.ENV.TENANT.<pod domain>: the
//    tenant keeps two tenants' same-named environments apart.
//  * The pod domain and everything under it belong to the pod: an app may
//    take a name there only if it is its own default name.
//  * Pure functions, thread-safe; messages quote at most 64 printable chars.
#pragma once

#include <string>

#include "common/names.h"
#include "common/status.h"

namespace rv::sauron {

inline constexpr size_t kMaxDomainNameLength = 253;

Status ValidateDomainName(const std::string& name);
// The pod domain follows the same rule.
Status ValidatePodDomain(const std::string& domain);
std::string DefaultName(const names::AppRef& app, const std::string& pod_domain);
// True for `domain` itself and every name under it.
bool IsUnderDomain(const std::string& name, const std::string& domain);
// May `app` take `name` as a custom domain? (Invalid with the reason if not.)
Status CheckCustomName(const std::string& name, const names::AppRef& app, const std::string& pod_domain);

}  // namespace rv::sauron
