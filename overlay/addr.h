// IPv4 addresses and prefixes in host byte order, with strict parsing
// ("10.250.1.2", "10.250.0.0/16"): anything else is an error, never a guess.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace rv::overlay {

struct Prefix {
  uint32_t addr = 0;  // network address (host bits zero)
  int len = 32;
  uint32_t Mask() const { return len == 0 ? 0 : ~uint32_t{0} << (32 - len); }
  bool Contains(uint32_t a) const { return (a & Mask()) == addr; }
  bool Contains(const Prefix& p) const { return p.len >= len && Contains(p.addr); }
  uint64_t Size() const { return uint64_t{1} << (32 - len); }
  bool operator==(const Prefix&) const = default;
};

Result<uint32_t> ParseAddr(const std::string& s);
// Host bits must be zero unless allow_host_bits.
Result<Prefix> ParsePrefix(const std::string& s, bool allow_host_bits = false);
std::string FormatAddr(uint32_t a);
std::string FormatPrefix(const Prefix& p);

// "ip:port" -> (addr, port).
Status ParseEndpoint(const std::string& s, uint32_t* addr, uint16_t* port);

}  // namespace rv::overlay
