// OutputFilter: turns a build's raw output (hostile bytes from a buildpack)
// into lines that are safe to show on a terminal, as the bytes arrive.
//
// What holds for every line it emits (without its '\n'):
//   - valid UTF-8; invalid or overlong sequences and surrogates become U+FFFD;
//   - no terminal control: ESC sequences (CSI, OSC, DCS/PM/APC strings, two-
//     byte ESC X) are removed whole; every other C0 byte but TAB, DEL, the C1
//     controls U+0080..U+009F and the bidi overrides/isolates (U+202A..U+202E,
//     U+2066..U+2069, "Trojan source") become U+FFFD;
//   - '\n', "\r\n" and a lone '\r' each end a line, so a CR cannot move the
//     cursor back over text already printed;
//   - at most max_line_bytes bytes of content; the rest of a longer line is
//     dropped up to its newline and the line ends with kLineCutMarker;
//   - the emitted total (content plus one '\n' per line) stays within
//     max_total_bytes, plus one kTruncatedLine: the first line that would pass
//     it is replaced by that line and everything after is dropped (still
//     consumed, so the build never blocks on a full pipe).
// Lines are emitted as soon as they end (streaming); Finish() emits a last
// partial line. Pure: no I/O, no clock. Not thread-safe (one per stream).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace rv::builder {

inline constexpr std::string_view kLineCutMarker = " [line cut]";
inline constexpr std::string_view kTruncatedLine = "[output truncated: the build's output exceeded the limit]";

class OutputFilter {
 public:
  struct Options {
    size_t max_line_bytes = 4096;
    size_t max_total_bytes = 4 << 20;
  };
  using Emit = std::function<void(std::string_view line)>;

  OutputFilter(Options o, Emit emit);

  void Feed(std::string_view bytes);
  // Emits the pending partial line, if any. Feed may continue afterwards.
  void Finish();

  bool truncated() const { return truncated_; }
  uint64_t bytes_in() const { return bytes_in_; }
  uint64_t bytes_out() const { return bytes_out_; }
  uint64_t lines_out() const { return lines_out_; }

 private:
  enum class State { kText, kUtf8, kEsc, kEscInter, kCsi, kString, kStringEsc };
  void Byte(unsigned char c);
  void CodePoint(uint32_t cp, std::string_view encoded);
  void Append(std::string_view s);
  void EndLine();
  void BadUtf8();

  Options opt_;
  Emit emit_;
  State state_ = State::kText;
  std::string line_;
  bool cut_ = false;         // current line hit the cap; dropping until its end
  bool after_cr_ = false;    // last byte was a CR: a following LF is the same line end
  bool truncated_ = false;
  // UTF-8 decoder
  uint32_t cp_ = 0;
  int need_ = 0;
  uint32_t min_ = 0;
  std::string pending_;      // bytes of the code point being decoded
  size_t esc_len_ = 0;       // bytes of the escape sequence so far
  uint64_t bytes_in_ = 0, bytes_out_ = 0, lines_out_ = 0;
};

}  // namespace rv::builder
