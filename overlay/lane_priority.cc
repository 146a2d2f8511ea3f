#include "overlay/lane_priority.h"

#include <sched.h>
#include <time.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace rv::overlay {

LanePriority::LanePriority(Options o, bool starts_realtime, int64_t now_us, int64_t cpu_us)
    : opt_(o), realtime_(starts_realtime), window_start_us_(now_us), window_start_cpu_us_(cpu_us) {}

LanePriority::Change LanePriority::Tick(int64_t now_us, int64_t cpu_us) {
  int64_t span = now_us - window_start_us_;
  if (span < opt_.window_us) return Change::kNone;
  double busy = double(cpu_us - window_start_cpu_us_) / double(span);
  last_busy_ = busy;
  window_start_us_ = now_us;
  window_start_cpu_us_ = cpu_us;
  if (realtime_ && busy > opt_.max_busy) {
    realtime_ = false;
    demotions_++;
    return Change::kToNormal;
  }
  if (!realtime_ && busy < opt_.max_busy * kPromoteRatio) {
    realtime_ = true;
    return Change::kToRealtime;
  }
  return Change::kNone;
}

int64_t ThreadCpuUs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return int64_t(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

Status SetThreadRealtime(bool on) {
  sched_param p{};
  p.sched_priority = on ? sched_get_priority_min(SCHED_FIFO) : 0;
  // 0 is the calling thread (sched_setscheduler works per thread on Linux).
  if (sched_setscheduler(0, on ? SCHED_FIFO : SCHED_OTHER, &p) != 0) {
    std::string m = std::string("sched_setscheduler: ") + strerror(errno);
    return errno == EPERM ? Status::Denied(m) : Status::Io(m);
  }
  return Status::Ok();
}

}  // namespace rv::overlay
