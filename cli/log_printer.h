// LogPrinter: how `rv logs` writes a log it reads (an app's console output,
// an env proxy's access lines) to the operator.
//
// Contract:
//  * Raw: the bytes as the log holds them, for a pipe or a file (--raw, or
//    when stdout is not a terminal, as `ls` quotes names only on one).
//  * Safe (a terminal): the log is hostile text (an app prints what its
//    clients send), so it goes through builder/output_filter.h: valid UTF-8,
//    no escape sequence or other control byte, a CR ends a line. A sequence
//    split across two Feed calls is handled as one. Lines are cut at 64 KiB;
//    nothing is dropped for size otherwise.
//  * Not thread-safe: one per stream; the caller serialises writes to `out`.
#pragma once

#include <memory>
#include <ostream>
#include <string>
#include <string_view>

#include "builder/output_filter.h"

namespace rv::cli {

class LogPrinter {
 public:
  LogPrinter(bool safe, std::ostream& out);
  void Feed(std::string_view bytes);
  // A pending partial line (safe mode); flushes.
  void Finish();

  // One line (without its '\n') made safe: a CR inside becomes a space.
  static std::string SafeLine(std::string_view line);

 private:
  std::ostream& out_;
  std::unique_ptr<builder::OutputFilter> filter_;  // null: raw
};

}  // namespace rv::cli
