// When a lane runs real-time.
//
// A lane woken by a packet under the fair scheduler (SCHED_OTHER) waits for
// whatever runs on its CPU; on a small VM that wait was most of the overlay's
// share of a ping (docs/OVERLAY.md, Latency). Under SCHED_FIFO it runs at once.
// But a busy real-time thread takes its CPU from the containers on it, so a
// lane is real-time only while it is mostly idle: a window in which it was busy
// more than max_busy drops it to SCHED_OTHER (a flood or a bulk transfer then
// shares the CPU fairly), and a window busy less than 0.4 x max_busy lifts it
// back (the gap keeps it from flapping at the line).
//
// Busy is the CPU time the lane's thread used in the window
// (CLOCK_THREAD_CPUTIME_ID), not the time it spent outside epoll_wait: a lane
// spinning through an epoll_wait that returns at once (a level-triggered fd
// it never reads) is busy all the time and must be demoted, yet spends most of
// its time inside the call. Counting wall time between waits missed exactly
// that, and one such lane starved a whole test pod for 800 ms at a time.
//
// LanePriority only decides; the lane applies the change to its own thread
// with SetThreadRealtime. Not thread-safe: one per lane.
#pragma once

#include <cstdint>

#include "common/status.h"

namespace rv::overlay {

class LanePriority {
 public:
  struct Options {
    int64_t window_us = 100'000;
    double max_busy = 0.5;
  };
  static constexpr double kPromoteRatio = 0.4;
  enum class Change { kNone, kToRealtime, kToNormal };

  // starts_realtime: the state the lane is put in before its first packet;
  // cpu_us: the thread's CPU time now (ThreadCpuUs()).
  LanePriority(Options o, bool starts_realtime, int64_t now_us, int64_t cpu_us);

  // Whether the window has closed: then read the thread's CPU time and Tick.
  // (Reading it is a system call; this is two loads.)
  bool Due(int64_t now_us) const { return now_us - window_start_us_ >= opt_.window_us; }
  // Judges the window that closed at now_us, in which the thread's CPU time
  // reached cpu_us, and returns the change the lane should make (already
  // reflected in realtime()). Before the window closes: kNone.
  Change Tick(int64_t now_us, int64_t cpu_us);

  bool realtime() const { return realtime_; }
  uint64_t demotions() const { return demotions_; }
  // The busy fraction of the last closed window (0..1).
  double last_busy() const { return last_busy_; }

 private:
  Options opt_;
  bool realtime_;
  int64_t window_start_us_;
  int64_t window_start_cpu_us_;
  uint64_t demotions_ = 0;
  double last_busy_ = 0;
};

// The CPU time the calling thread has used, in microseconds.
int64_t ThreadCpuUs();

// The calling thread to SCHED_FIFO at the lowest real-time priority (on) or
// back to SCHED_OTHER. Fails (EPERM) without CAP_SYS_NICE or real-time budget.
Status SetThreadRealtime(bool on);

}  // namespace rv::overlay
