#include "common/resources.h"

#include <algorithm>

namespace rv {

msg::Resources Plus(const msg::Resources& a, const msg::Resources& b) {
  return {a.ram_mb + b.ram_mb, a.disk_mb + b.disk_mb, a.cpu_millis + b.cpu_millis};
}

msg::Resources Minus(const msg::Resources& a, const msg::Resources& b) {
  return {a.ram_mb - b.ram_mb, a.disk_mb - b.disk_mb, a.cpu_millis - b.cpu_millis};
}

msg::Resources MinusFloored(const msg::Resources& a, const msg::Resources& b) {
  return {std::max<int64_t>(0, a.ram_mb - b.ram_mb), std::max<int64_t>(0, a.disk_mb - b.disk_mb),
          std::max<int64_t>(0, a.cpu_millis - b.cpu_millis)};
}

msg::Resources Min(const msg::Resources& a, const msg::Resources& b) {
  return {std::min(a.ram_mb, b.ram_mb), std::min(a.disk_mb, b.disk_mb), std::min(a.cpu_millis, b.cpu_millis)};
}

bool Fits(const msg::Resources& want, const msg::Resources& free) {
  return want.ram_mb <= free.ram_mb && want.disk_mb <= free.disk_mb && want.cpu_millis <= free.cpu_millis;
}

bool AnyNegative(const msg::Resources& r) { return r.ram_mb < 0 || r.disk_mb < 0 || r.cpu_millis < 0; }

std::string Describe(const msg::Resources& r) {
  return std::to_string(r.ram_mb) + "MB RAM, " + std::to_string(r.disk_mb) + "MB disk, " +
         std::to_string(r.cpu_millis) + "m CPU";
}

std::string DescribeShort(const msg::Resources& r) {
  return std::to_string(r.ram_mb) + "M/" + std::to_string(r.disk_mb) + "M/" + std::to_string(r.cpu_millis) + "m";
}

}  // namespace rv
