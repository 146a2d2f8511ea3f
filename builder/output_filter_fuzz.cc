// libFuzzer target: hostile build output through OutputFilter. Every emitted
// line must be valid UTF-8 with no control byte but TAB, no longer than the
// cap, and the total must stay within its bound, however the input is chunked.
#include <cstdlib>
#include <string>

#include "builder/output_filter.h"

namespace {

bool ValidSafeUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    unsigned char c = s[i];
    if (c < 0x80) {
      if ((c < 0x20 && c != '\t') || c == 0x7F) return false;
      i++;
      continue;
    }
    if (c < 0xC2 || c > 0xF4) return false;
    size_t n = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
    if (i + n >= s.size()) return false;  // sequence runs past the end
    for (size_t k = 1; k <= n; k++)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    if (c == 0xC2 && static_cast<unsigned char>(s[i + 1]) <= 0x9F) return false;  // a C1 control
    i += n + 1;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  rv::builder::OutputFilter::Options o;
  o.max_line_bytes = 16 + data[0];
  o.max_total_bytes = 64 + data[1] * 16;
  size_t total = 0;
  rv::builder::OutputFilter f(o, [&](std::string_view line) {
    if (line != rv::builder::kTruncatedLine && line.size() > o.max_line_bytes + rv::builder::kLineCutMarker.size())
      abort();
    if (!ValidSafeUtf8(line)) abort();
    total += line.size() + 1;
  });
  std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);
  size_t chunk = 1 + data[0] % 7;
  for (size_t i = 0; i < in.size(); i += chunk) f.Feed(in.substr(i, chunk));
  f.Finish();
  if (total > o.max_total_bytes + rv::builder::kTruncatedLine.size() + 1) abort();
  return 0;
}
