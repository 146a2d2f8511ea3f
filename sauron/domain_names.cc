#include "sauron/domain_names.h"

#include <cctype>

namespace rv::sauron {
namespace {

Status CheckLabel(const std::string& name, const std::string& label) {
  auto bad = [&](const std::string& why) {
    return Status::Invalid(names::Quote(name) + " is not a valid DNS name: " + why);
  };
  if (label.empty()) return bad("empty label");
  if (label.size() > 63) return bad("a label is longer than 63 characters");
  if (label.front() == '-' || label.back() == '-') return bad("a label starts or ends with '-'");
  for (unsigned char c : label) {
    if (!(std::islower(c) || std::isdigit(c) || c == '-')) {
      if (std::isupper(c)) return bad("upper-case letters (names are lower case)");
      return bad("only a-z, 0-9, '-' and '.' are allowed");
    }
  }
  return Status::Ok();
}

}  // namespace

Status ValidateDomainName(const std::string& name) {
  if (name.empty()) return Status::Invalid("a DNS name is required");
  if (name.size() > kMaxDomainNameLength) return Status::Invalid("a DNS name has at most 253 characters");
  if (name.find('*') != std::string::npos) {
    return Status::Invalid(names::Quote(name) + ": wildcard names are not supported (add each name)");
  }
  if (name.back() == '.') return Status::Invalid(names::Quote(name) + ": drop the trailing dot");
  size_t start = 0, labels = 0;
  std::string last;
  while (true) {
    size_t dot = name.find('.', start);
    last = name.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (Status s = CheckLabel(name, last); !s.ok()) return s;
    ++labels;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  if (labels < 2) return Status::Invalid(names::Quote(name) + " is not a valid DNS name: it needs a domain (at least one '.')");
  bool digits = true;
  for (unsigned char c : last) digits = digits && std::isdigit(c);
  if (digits) return Status::Invalid(names::Quote(name) + " is an address, not a DNS name");
  return Status::Ok();
}

Status ValidatePodDomain(const std::string& domain) {
  if (Status s = ValidateDomainName(domain); !s.ok()) return Status::Invalid("pod domain: " + s.message());
  return Status::Ok();
}

std::string DefaultName(const names::AppRef& app, const std::string& pod_domain) {
  return app.app + "." + app.env + "." + app.tenant + "." + pod_domain;
}

bool IsUnderDomain(const std::string& name, const std::string& domain) {
  if (name == domain) return true;
  return name.size() > domain.size() && name.compare(name.size() - domain.size(), domain.size(), domain) == 0 &&
         name[name.size() - domain.size() - 1] == '.';
}

Status CheckCustomName(const std::string& name, const names::AppRef& app, const std::string& pod_domain) {
  if (Status s = ValidateDomainName(name); !s.ok()) return s;
  std::string def = DefaultName(app, pod_domain);
  if (name != def && IsUnderDomain(name, pod_domain)) {
    return Status::Invalid(names::Quote(name) + " is under the pod domain " + pod_domain +
                           ", whose names are the pod's: " + app.ToString() + " answers at " + def);
  }
  return Status::Ok();
}

}  // namespace rv::sauron
