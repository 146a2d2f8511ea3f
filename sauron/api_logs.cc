// Reading a job's log through sauron (common/msg/logs.h, docs/CONTAINERS.md
// "Logs"): admin.log_read, host.log_chunk, admin.log_fetch. Sauron only
// relays: the job's host reads its own file and nothing is stored here past
// LogRelay's ten seconds. A one-off's input goes the other way through the
// same mailbox (common/msg/job_input.h): admin.job_input.
#include "common/console_job.h"
#include "common/crypto/sealed_box.h"
#include "common/event_kinds.h"
#include "common/msg/job_input.h"
#include "common/msg/logs.h"
#include "common/states.h"
#include "sauron/api_requests.h"
#include "sauron/log_relay.h"

namespace rv::sauron {
namespace {

using G = RequestTable::Grouping;

Status LogsOn(const ApiDeps& d) {
  return d.logs && d.notify_host ? Status::Ok() : Status::Unavailable("log reads are off on this sauron");
}

// Ok if the job's host is up to be asked; `cannot` says what cannot happen otherwise.
Status HostIsUp(ApiCall& c, const std::string& job_id, const std::string& host_id, const std::string& cannot) {
  const msg::HostRecord* host = c.deps.store->FindHost(host_id);
  if (host != nullptr && host->state == host_state::kUp) return Status::Ok();
  return Status::Unavailable("job " + Clean(job_id) + "'s host " + Clean(host_id) + " is " +
                             (host ? host->state : std::string("unknown")) + ": " + cannot);
}

// A notice for that host only, outside the event log; `detail` (an encoded
// want, maybe input) is wiped once handed over.
void NotifyHost(ApiCall& c, const char* kind, const std::string& host_id, const std::string& job_id, std::string detail) {
  msg::Change ch;
  ch.event.ts_ms = c.now_ms;
  ch.event.kind = kind;
  ch.event.host_id = host_id;
  ch.event.job_id = job_id;
  ch.event.detail = std::move(detail);
  c.deps.notify_host(ch);
  crypto::Wipe(ch.event.detail);
}

Result<std::string> Read(ApiCall& c, msg::LogReadRequest& b) {
  if (b.max_bytes <= 0 || b.max_bytes > msg::kMaxLogChunkBytes || b.tail_bytes < 0 || b.cursor.offset < 0) {
    return Status::Invalid("max_bytes must be 1.." + std::to_string(msg::kMaxLogChunkBytes) +
                           ", tail_bytes and offset at least 0");
  }
  auto job = c.deps.store->GetJob(b.job_id);
  if (!job.ok()) return job.status();
  if (job->host_id.empty()) {
    return Status::NotFound("job " + Clean(b.job_id) + " is " + job->state + ", on no host: it has no log to read");
  }
  if (Status s = HostIsUp(c, b.job_id, job->host_id, "its log cannot be read now"); !s.ok()) return s;
  auto token = c.deps.logs->Open(job->host_id, c.now_ms);
  if (!token.ok()) return token.status();
  msg::LogWant want;
  want.token = *token;
  want.job_id = b.job_id;
  want.cursor = b.cursor;
  want.tail_bytes = b.tail_bytes;
  want.max_bytes = b.max_bytes;
  NotifyHost(c, event_kind::kLogWanted, job->host_id, b.job_id, msg::Encode(want));
  c.deps.counters->Add("logs.read");
  return Answer(msg::LogReadStarted{*token, job->host_id});
}

Result<std::string> Input(ApiCall& c, msg::JobInputRequest& b) {
  if (b.seq < 1 || b.data.size() > static_cast<size_t>(msg::kMaxInputChunkBytes)) {
    crypto::Wipe(b.data);
    return Status::Invalid("an input chunk is numbered from 1 and holds at most " +
                           std::to_string(msg::kMaxInputChunkBytes) + " bytes");
  }
  auto job = c.deps.store->GetJob(b.job_id);
  if (!job.ok()) return job.status();
  if (job->spec.kind != kConsoleJobKind) {
    return Status::Invalid("job " + Clean(b.job_id) + " is not a one-off (rv run): it takes no input");
  }
  if (job->state == job_state::kStopped) return Status::NotFound("job " + Clean(b.job_id) + " has ended");
  if (job->state != job_state::kPlaced) {
    return Status::Unavailable("job " + Clean(b.job_id) + " is " + job->state + ": not started yet");
  }
  if (Status s = HostIsUp(c, b.job_id, job->host_id, "input cannot reach it now"); !s.ok()) return s;
  auto token = c.deps.logs->Open(job->host_id, c.now_ms);
  if (!token.ok()) return token.status();
  msg::InputWant want;
  want.token = *token;
  want.job_id = b.job_id;
  want.seq = b.seq;
  want.data = std::move(b.data);
  want.eof = b.eof;
  std::string detail = msg::Encode(want);
  crypto::Wipe(want.data);
  NotifyHost(c, event_kind::kInputWanted, job->host_id, b.job_id, std::move(detail));
  c.deps.counters->Add("logs.input");
  return Answer(msg::LogReadStarted{*token, job->host_id});
}

Result<std::string> Deliver(ApiCall& c, msg::HostLogChunk& b) {
  if (Status s = c.CheckHost(b.host_id); !s.ok()) return s;
  Status s = c.deps.logs->Deliver(b.host_id, b.token, std::move(b.chunk), c.now_ms);
  if (s.code() == Status::Code::kDenied) c.audit.Refuse(c.user, s.message());
  return s.ok() ? Result<std::string>(std::string()) : Result<std::string>(s);
}

Result<std::string> Fetch(ApiCall& c, msg::LogFetchRequest& b) {
  auto got = c.deps.logs->Take(b.token, c.now_ms);
  if (!got.ok()) return got.status();
  return Answer(got->value_or(msg::LogChunk{}));  // ready == false: not yet
}

}  // namespace

void RegisterLogRequests(RequestTable& t) {
  const RoleSet admin{Role::kAdmin};
  t.On<msg::LogReadRequest>(admin, G::kAlone, Read, LogsOn);
  t.On<msg::LogFetchRequest>(admin, G::kAlone, Fetch, LogsOn);
  t.On<msg::JobInputRequest>(admin, G::kAlone, Input, LogsOn);
  t.On<msg::HostLogChunk>(RoleSet{Role::kHost}, G::kAlone, Deliver, LogsOn);
}

}  // namespace rv::sauron
