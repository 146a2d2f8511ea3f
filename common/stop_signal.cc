#include "common/stop_signal.h"

#include <signal.h>

namespace rv::stop_signal {
namespace {

std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the signal handler needs a lock-free store");

void OnSignal(int) { g_stop.store(true); }

}  // namespace

void Install(std::initializer_list<int> extra, Sigpipe sigpipe) {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  for (int sig : extra) sigaction(sig, &sa, nullptr);
  if (sigpipe == Sigpipe::kIgnore) signal(SIGPIPE, SIG_IGN);
}

const std::atomic<bool>& Flag() { return g_stop; }

void Request() { g_stop.store(true); }

}  // namespace rv::stop_signal
