// libFuzzer target: a hostile `rv domains:add APP NAME` through the one rule
// for names. Whatever sauron accepts goes into the env proxies' HAProxy maps
// and crt-list and the edge's names map, one name per line: it must be
// lower-case LDH labels exactly as the contract says (so no space, '#', '/'
// or newline can split a line), a name the strider's proxy config carries
// (IsProxyName), and, as a custom domain, never a name under the pod domain
// other than the app's own default one. A refusal says why in one printable line.
#include <cstdlib>
#include <string>

#include "common/names.h"
#include "sauron/domain_names.h"
#include "strider/proxy_config.h"

namespace {

void CheckRefusal(const rv::Status& s) {
  if (s.message().empty()) abort();
  for (unsigned char c : s.message())
    if (c < 0x20 || c > 0x7e) abort();
}

void CheckName(const std::string& n) {
  if (n.empty() || n.size() > rv::sauron::kMaxDomainNameLength || !rv::strider::IsProxyName(n)) abort();
  int labels = 0;
  size_t start = 0;
  for (size_t i = 0; i <= n.size(); ++i) {
    if (i < n.size() && n[i] != '.') {
      char c = n[i];
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) abort();
      continue;
    }
    std::string l = n.substr(start, i - start);
    if (l.empty() || l.size() > 63 || l.front() == '-' || l.back() == '-') abort();
    ++labels;
    if (i == n.size() && l.find_first_not_of("0123456789") == std::string::npos) abort();  // an IP, not a name
    start = i + 1;
  }
  if (labels < 2) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string name(reinterpret_cast<const char*>(data), size);
  rv::Status v = rv::sauron::ValidateDomainName(name);
  if (!v.ok()) {
    CheckRefusal(v);
  } else {
    CheckName(name);
  }
  const std::string pod = "pod.example.test";
  const rv::names::AppRef app{"acme", "prod", "web"};
  rv::Status c = rv::sauron::CheckCustomName(name, app, pod);
  if (!c.ok()) return CheckRefusal(c), 0;
  if (!v.ok()) abort();  // a custom name is a valid name first
  if (rv::sauron::IsUnderDomain(name, pod) && name != rv::sauron::DefaultName(app, pod)) abort();
  return 0;
}
