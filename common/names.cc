#include "common/names.h"

#include "common/utf8.h"

namespace rv::names {
namespace {

bool LowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

}  // namespace

std::string Quote(const std::string& s, size_t max) {
  return "'" + PrintableAscii(s, max) + (s.size() > max ? "...'" : "'");
}

Status ValidateName(const std::string& name, const char* what) {
  if (name.empty()) return Status::Invalid(std::string(what) + " name is empty");
  if (name.size() > kMaxNameLength) {
    return Status::Invalid(std::string(what) + " name " + Quote(name) + " is longer than " +
                           std::to_string(kMaxNameLength) + " characters");
  }
  for (char c : name) {
    if (!LowerAlnum(c) && c != '-') {
      return Status::Invalid(std::string(what) + " name " + Quote(name) +
                             " may only hold lower-case letters, digits and '-'");
    }
  }
  if (name.front() == '-' || name.back() == '-') {
    return Status::Invalid(std::string(what) + " name " + Quote(name) + " must start and end with a letter or digit");
  }
  return Status::Ok();
}

Status ValidateEnvRef(const std::string& env) {
  auto slash = env.find('/');
  if (slash == std::string::npos) return ValidateName(env, "environment");
  if (Status s = ValidateName(env.substr(0, slash), "tenant"); !s.ok()) return s;
  std::string rest = env.substr(slash + 1);
  if (rest.find('/') != std::string::npos) {
    return Status::Invalid("environment " + Quote(env) + " must be TENANT/ENV (or a lone ENV)");
  }
  return ValidateName(rest, "environment");
}

Result<AppRef> ParseAppRef(const std::string& ref) {
  AppRef r;
  auto a = ref.find('/');
  auto b = a == std::string::npos ? a : ref.find('/', a + 1);
  if (b == std::string::npos || ref.find('/', b + 1) != std::string::npos) {
    return Status::Invalid("app " + Quote(ref) + " must be TENANT/ENV/APP");
  }
  r.tenant = ref.substr(0, a);
  r.env = ref.substr(a + 1, b - a - 1);
  r.app = ref.substr(b + 1);
  if (Status s = ValidateName(r.tenant, "tenant"); !s.ok()) return s;
  if (Status s = ValidateName(r.env, "environment"); !s.ok()) return s;
  if (Status s = ValidateName(r.app, "app"); !s.ok()) return s;
  return r;
}

}  // namespace rv::names
