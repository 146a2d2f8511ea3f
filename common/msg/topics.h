// Topics of sauron's change stream (ZeroMQ PUB/SUB, which filters by topic
// prefix on the publisher's side).
//
//   "all/<kind>"          every event, once, for whole-pod watchers (elrond,
//                         `rv events -f`): subscribe to "all/" or "all/<kind>".
//   "feed/"               every event, in seq order, several per message
//                         (msg::Changes: the changes of one commit), for
//                         watchers that take every kind (elrond, the bench).
//   "to/<host>/<kind>"    a copy of the events that concern one host (its jobs
//                         awarded, placed, revoked, stopped; its overlay view
//                         changed), for that host's strider, which subscribes
//                         only to the kinds it acts on.
//
// Why two audiences: with CURVE every delivered message is encrypted and
// written once per subscriber. A strider that subscribed to every job event
// made each placement cost one message per host in the pod (10 million
// messages for 10,000 jobs on 1000 hosts); addressed copies cost one.
// "all/" and "feed/" carry the gapless `seq`; a host's copies are a subset.
#pragma once

#include <string>
#include <string_view>

namespace rv::msg {

inline constexpr std::string_view kPodTopicPrefix = "all/";
inline constexpr std::string_view kFeedTopic = "feed/";

inline std::string PodTopic(std::string_view kind) {
  std::string t(kPodTopicPrefix);
  t += kind;
  return t;
}

// The trailing '/' keeps "to/h1/" from matching "to/h10/...".
inline std::string HostTopic(std::string_view host_id, std::string_view kind = {}) {
  std::string t = "to/";
  t += host_id;
  t += '/';
  t += kind;
  return t;
}

}  // namespace rv::msg
