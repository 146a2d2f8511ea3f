// What every rv command group prints the same way: errors, empty cells,
// times, labels, events, and the key=value lists it reads.
//
// Contract: pure formatting and parsing (Fail and PrintEvent write to
// stderr/stdout); thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/msg/types.h"
#include "common/status.h"

namespace rv::cli {

// Prints "rv: <message>" to stderr, Printable; returns rv's exit code for a
// failed operation (1).
int Fail(const Status& s);
// `s` with every byte but printable ASCII, newline and tab as '?': a refusal
// may quote what it refused (or come from a daemon that did not), and an
// escape sequence or a stray byte must not reach the operator's terminal.
std::string Printable(const std::string& s);
// `s` with C0 and C1 controls and DEL as '?' and UTF-8 text kept: for what a
// daemon was told (a label, a container's exit reason) in a table or an event.
std::string NoControls(const std::string& s);
// "-" for an empty cell.
std::string Or(const std::string& s);
// "k=v,k2=v2", or "-".
std::string FormatLabels(const std::map<std::string, std::string>& l);
// "1234ms ago" / "12s ago" / "never".
std::string Ago(int64_t wall_ms);
// "HH:MM:SS.mmm" (UTC).
std::string ClockTime(int64_t wall_ms);
// "YYYY-MM-DD HH:MM:SS" (UTC), or "-" for no time.
std::string DateTime(int64_t wall_ms);
// One line of the event log.
void PrintEvent(const msg::Event& e);
// Whether nobody will read fd any more: it is a pipe or socket whose other
// end is closed (poll: POLLERR or POLLHUP), as rv's stdout when gitrecv's ssh
// client went away. A file, or a pipe still read: false. Does not block.
bool OutputGone(int fd = 1);
// "k=v" items into a map; `what` names them in the error ("label", "config var").
Result<std::map<std::string, std::string>> ParsePairs(const std::vector<std::string>& items, const char* what);

}  // namespace rv::cli
