#include "cli/output.h"

#include <poll.h>

#include <ctime>
#include <iostream>

#include "common/clock.h"

namespace rv::cli {

std::string Printable(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) out += (c >= 0x20 && c < 0x7f) || c == '\n' || c == '\t' ? static_cast<char>(c) : '?';
  return out;
}

std::string NoControls(const std::string& s) {
  std::string out = s;
  for (size_t i = 0; i < out.size(); ++i) {
    unsigned char c = out[i];
    if (c < 0x20 || c == 0x7f) {
      out[i] = '?';
    } else if (c == 0xc2 && i + 1 < out.size() && static_cast<unsigned char>(out[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(out[i + 1]) <= 0x9f) {
      out.replace(i, 2, "?");  // U+0080..U+009F
    }
  }
  return out;
}

bool OutputGone(int fd) {
  pollfd p{fd, 0, 0};  // no events asked: POLLERR and POLLHUP are always reported
  return poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP)) != 0;
}

int Fail(const Status& s) {
  std::cerr << "rv: " << Printable(s.message()) << "\n";
  return 1;
}

std::string Or(const std::string& s) { return s.empty() ? "-" : s; }

std::string FormatLabels(const std::map<std::string, std::string>& l) {
  std::string out;
  for (const auto& [k, v] : l) out += (out.empty() ? "" : ",") + k + "=" + v;
  return out.empty() ? "-" : out;
}

std::string Ago(int64_t ms) {
  if (ms <= 0) return "never";
  int64_t d = WallMs() - ms;
  if (d < 0) d = 0;
  if (d < 10000) return std::to_string(d) + "ms ago";
  return std::to_string(d / 1000) + "s ago";
}

std::string ClockTime(int64_t ms) {
  time_t t = ms / 1000;
  char buf[32];
  struct tm tm {};
  gmtime_r(&t, &tm);
  strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  char out[48];
  snprintf(out, sizeof out, "%s.%03d", buf, static_cast<int>(ms % 1000));
  return out;
}

std::string DateTime(int64_t ms) {
  if (ms <= 0) return "-";
  time_t t = ms / 1000;
  char buf[32];
  struct tm tm {};
  gmtime_r(&t, &tm);
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

void PrintEvent(const msg::Event& e) {
  std::cout << e.seq << "  " << ClockTime(e.ts_ms) << "  " << e.kind;
  if (!e.host_id.empty()) std::cout << "  host=" << e.host_id;
  if (!e.job_id.empty()) std::cout << "  job=" << e.job_id << "#" << e.attempt;
  if (!e.detail.empty()) std::cout << "  " << NoControls(e.detail);  // may quote a container's reason
  std::cout << "\n" << std::flush;
}

Result<std::map<std::string, std::string>> ParsePairs(const std::vector<std::string>& items, const char* what) {
  std::map<std::string, std::string> out;
  for (const auto& s : items) {
    auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0) return Status::Invalid(std::string(what) + " '" + s + "' is not key=value");
    out[s.substr(0, eq)] = s.substr(eq + 1);
  }
  return out;
}

}  // namespace rv::cli
