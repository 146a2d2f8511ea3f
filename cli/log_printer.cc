#include "cli/log_printer.h"

#include <cstdint>

namespace rv::cli {
namespace {

constexpr builder::OutputFilter::Options kLogOptions{.max_line_bytes = 64 * 1024, .max_total_bytes = SIZE_MAX / 2};

}  // namespace

LogPrinter::LogPrinter(bool safe, std::ostream& out) : out_(out) {
  if (safe) filter_ = std::make_unique<builder::OutputFilter>(kLogOptions, [this](std::string_view l) { out_ << l << '\n'; });
}

void LogPrinter::Feed(std::string_view bytes) {
  if (filter_) {
    filter_->Feed(bytes);
  } else {
    out_ << bytes;
  }
  out_ << std::flush;
}

void LogPrinter::Finish() {
  if (filter_) filter_->Finish();
  out_ << std::flush;
}

std::string LogPrinter::SafeLine(std::string_view line) {
  std::string out;
  builder::OutputFilter f(kLogOptions, [&](std::string_view l) {
    if (!out.empty()) out += ' ';  // a CR ended a line inside it
    out.append(l);
  });
  f.Feed(line);
  f.Finish();
  return out;
}

}  // namespace rv::cli
