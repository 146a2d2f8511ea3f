#include "cli/event_cmds.h"

#include <signal.h>

#include <atomic>
#include <climits>
#include <iostream>

#include "cli/output.h"
#include "cli/table.h"
#include "common/clock.h"
#include "common/msg/topics.h"
#include "common/stop_signal.h"
#include "common/transport/curve.h"

namespace rv::cli {
namespace {

int Events(Client& c, const EventCommands& cmds) {
  // Subscribe first, so nothing falls between the listing and the stream.
  std::unique_ptr<zmq::socket_t> sub;
  if (cmds.follow) {
    sub = std::make_unique<zmq::socket_t>(c.context(), zmq::socket_type::sub);
    transport::SetDefaults(*sub);
    transport::MakeCurveClient(*sub, c.key(), c.sauron_key());
    sub->set(zmq::sockopt::subscribe, std::string(msg::kPodTopicPrefix));
    sub->connect(c.config().sauron.pub);
  }
  // The newest N, oldest first; with --limit 0 only the newest one, for its seq.
  auto l = c.List("events", cmds.limit > 0 ? cmds.limit : 1, 0, /*newest=*/true);
  if (!l.ok()) return Fail(l.status());
  int64_t last = 0;
  for (const auto& e : l->events) {
    if (cmds.limit > 0) PrintEvent(e);  // --limit 0: only what happens from now on
    last = std::max(last, e.seq);
  }
  if (!cmds.follow) return 0;
  stop_signal::Install({}, stop_signal::Sigpipe::kKeep);
  int64_t end = cmds.wait_ms > 0 ? WallMs() + cmds.wait_ms : INT64_MAX;
  int seen = 0;
  while (!stop_signal::Requested() && WallMs() < end && (cmds.count == 0 || seen < cmds.count)) {
    zmq::pollitem_t item{sub->handle(), 0, ZMQ_POLLIN, 0};
    try {
      zmq::poll(&item, 1, std::chrono::milliseconds(200));
    } catch (const zmq::error_t&) {
      continue;
    }
    if (!(item.revents & ZMQ_POLLIN)) continue;
    zmq::message_t topic, body;
    if (!sub->recv(topic, zmq::recv_flags::dontwait) || !topic.more()) continue;
    if (!sub->recv(body, zmq::recv_flags::dontwait)) continue;
    auto env = msg::DecodeEnvelope(body.data(), body.size());
    msg::Change ch;
    if (!env.ok() || !msg::DecodeBody(*env, &ch).ok()) {
      std::cerr << "rv: skipped an undecodable change\n";
      continue;
    }
    if (ch.event.seq <= last) continue;  // already listed
    if (last > 0 && ch.event.seq > last + 1) {
      std::cerr << "rv: missed events " << last + 1 << ".." << ch.event.seq - 1 << "\n";
    }
    last = ch.event.seq;
    PrintEvent(ch.event);
    ++seen;
  }
  return 0;
}

}  // namespace

void AddEventCommands(CLI::App& app, EventCommands* cmds) {
  cmds->events = app.add_subcommand("events", "the pod's event log");
  cmds->events->add_flag("-f,--follow", cmds->follow, "keep printing new events");
  cmds->events->add_option("--limit", cmds->limit, "how many recent events to show first");
  cmds->events->add_option("--count", cmds->count, "with -f: exit after this many new events");
  cmds->events->add_option("--wait-ms", cmds->wait_ms, "with -f: exit after this long");
  cmds->counters = app.add_subcommand("counters", "sauron's counters (rejected messages, refusals, ...)");
}

int RunEventCommands(Client& c, const EventCommands& cmds) {
  if (cmds.counters->parsed()) {
    auto l = c.List("counters");
    if (!l.ok()) return Fail(l.status());
    Table t({"COUNTER", "VALUE"});
    for (const auto& [k, v] : l->counters) t.Add({k, std::to_string(v)});
    t.Print(std::cout);
    return 0;
  }
  if (cmds.events->parsed()) return Events(c, cmds);
  return -1;
}

}  // namespace rv::cli
