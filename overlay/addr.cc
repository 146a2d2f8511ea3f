#include "overlay/addr.h"

#include <arpa/inet.h>

#include <charconv>

namespace rv::overlay {

Result<uint32_t> ParseAddr(const std::string& s) {
  in_addr a{};
  if (s.size() > 15 || inet_pton(AF_INET, s.c_str(), &a) != 1)
    return Status::Invalid("bad IPv4 address '" + s + "'");
  return ntohl(a.s_addr);
}

Result<Prefix> ParsePrefix(const std::string& s, bool allow_host_bits) {
  auto slash = s.find('/');
  std::string host = slash == std::string::npos ? s : s.substr(0, slash);
  int len = 32;
  if (slash != std::string::npos) {
    std::string l = s.substr(slash + 1);
    auto [p, ec] = std::from_chars(l.data(), l.data() + l.size(), len);
    if (ec != std::errc() || p != l.data() + l.size() || l.empty() || len < 0 || len > 32)
      return Status::Invalid("bad prefix length in '" + s + "'");
  }
  auto a = ParseAddr(host);
  if (!a.ok()) return a.status();
  Prefix p{*a, len};
  if ((p.addr & ~p.Mask()) != 0) {
    if (!allow_host_bits) return Status::Invalid("prefix '" + s + "' has host bits set");
    p.addr &= p.Mask();
  }
  return p;
}

std::string FormatAddr(uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." +
         std::to_string((a >> 8) & 255) + "." + std::to_string(a & 255);
}

std::string FormatPrefix(const Prefix& p) { return FormatAddr(p.addr) + "/" + std::to_string(p.len); }

Status ParseEndpoint(const std::string& s, uint32_t* addr, uint16_t* port) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos) return Status::Invalid("endpoint '" + s + "' lacks :port");
  auto a = ParseAddr(s.substr(0, colon));
  if (!a.ok()) return a.status();
  std::string ps = s.substr(colon + 1);
  unsigned v = 0;
  auto [p, ec] = std::from_chars(ps.data(), ps.data() + ps.size(), v);
  if (ec != std::errc() || p != ps.data() + ps.size() || ps.empty() || v == 0 || v > 65535)
    return Status::Invalid("bad port in endpoint '" + s + "'");
  *addr = *a;
  *port = uint16_t(v);
  return Status::Ok();
}

}  // namespace rv::overlay
