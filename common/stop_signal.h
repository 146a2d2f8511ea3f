// StopSignal: the one process-wide "stop now" flag of a daemon or a command
// that runs until interrupted (rv logs -f, rv events -f).
//
//  * Install() makes SIGTERM and SIGINT, and the extra signals given, set the
//    flag (a lock-free atomic store: async-signal-safe). A daemon also
//    ignores SIGPIPE (a peer that went away is an error return, not a death);
//    a command keeps it (`rv logs -f | head` must end when head does). Call it
//    once, before the threads that read the flag start.
//  * Flag() is the flag itself, for loops and APIs that take
//    `const std::atomic<bool>&` (sauron's Daemon::Run).
//  * Request() sets it from code (one follower failing ends the others).
// Thread-safe after Install().
#pragma once

#include <atomic>
#include <initializer_list>

namespace rv::stop_signal {

enum class Sigpipe { kIgnore, kKeep };
void Install(std::initializer_list<int> extra = {}, Sigpipe sigpipe = Sigpipe::kIgnore);
const std::atomic<bool>& Flag();
inline bool Requested() { return Flag().load(); }
void Request();

}  // namespace rv::stop_signal
