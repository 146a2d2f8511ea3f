// libFuzzer target: any byte string through the envelope decoder and then
// through the body decoder of every message type. Must never crash or leak.
#include <cstddef>
#include <cstdint>

#include "common/msg/envelope.h"
#include "common/msg/job_input.h"
#include "common/msg/logs.h"
#include "common/msg/protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rv::msg;
  auto env = DecodeEnvelope(data, size);
  if (!env.ok()) return 0;
  // Force the type check to pass for every struct, so each body decoder runs.
  Envelope e = *env;
  auto run = [&](auto tag) {
    using T = decltype(tag);
    e.type = T::kType;
    T out;
    (void)DecodeBody(e, &out);
  };
  run(Reply{}); run(HostHello{}); run(HostWelcome{}); run(Heartbeat{}); run(ClaimRequest{});
  run(Outcomes{}); run(JobReport{}); run(ReportAck{}); run(SnapshotRequest{}); run(Snapshot{});
  run(AwardRecordRequest{}); run(RevokeRequest{}); run(PendingReasonsRequest{}); run(EnrollHost{});
  run(DrainHost{}); run(SubmitJobs{}); run(JobIds{}); run(StopJobs{}); run(ListRequest{});
  run(Listing{}); run(Change{}); run(Changes{}); run(StriderHello{}); run(Announce{}); run(Bid{}); run(Award{});
  run(Ack{});
  // The log relay and rv run's input (sauron decodes the requests, a strider the wants).
  run(LogReadRequest{}); run(LogWant{}); run(HostLogChunk{}); run(LogFetchRequest{}); run(JobInputRequest{});
  run(InputWant{});
  return 0;
}
