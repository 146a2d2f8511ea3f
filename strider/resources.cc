#include "strider/resources.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace rv::strider {

Status ParseMeminfo(const std::string& text, int64_t* total_mb, int64_t* available_mb) {
  std::istringstream in(text);
  std::string line;
  int64_t total_kb = -1, avail_kb = -1;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string key;
    int64_t kb = 0;
    if (!(ls >> key >> kb)) continue;
    if (key == "MemTotal:") total_kb = kb;
    if (key == "MemAvailable:") avail_kb = kb;
  }
  if (total_kb < 0 || avail_kb < 0) return Status::Invalid("meminfo lacks MemTotal or MemAvailable");
  *total_mb = total_kb / 1024;
  *available_mb = avail_kb / 1024;
  return Status::Ok();
}

Result<Measured> HostResources::Measure() const {
  Measured m;
  if (ov_.ram_mb > 0) {
    m.capacity.ram_mb = m.free.ram_mb = ov_.ram_mb;
  } else {
    std::ifstream in("/proc/meminfo");
    if (!in) return Status::Io("cannot read /proc/meminfo");
    std::stringstream ss;
    ss << in.rdbuf();
    if (Status s = ParseMeminfo(ss.str(), &m.capacity.ram_mb, &m.free.ram_mb); !s.ok()) return s;
  }
  if (ov_.disk_mb > 0) {
    m.capacity.disk_mb = m.free.disk_mb = ov_.disk_mb;
  } else {
    struct statvfs st {};
    if (statvfs(data_dir_.c_str(), &st) != 0) return Status::Io("statvfs " + data_dir_ + " failed");
    m.capacity.disk_mb = static_cast<int64_t>(st.f_blocks) * static_cast<int64_t>(st.f_frsize) / (1 << 20);
    m.free.disk_mb = static_cast<int64_t>(st.f_bavail) * static_cast<int64_t>(st.f_frsize) / (1 << 20);
  }
  if (ov_.cpu_millis > 0) {
    m.capacity.cpu_millis = m.free.cpu_millis = ov_.cpu_millis;
  } else {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    m.capacity.cpu_millis = m.free.cpu_millis = (n > 0 ? n : 1) * 1000;
  }
  return m;
}

}  // namespace rv::strider
