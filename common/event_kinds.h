// The kinds of sauron's events (msg::Event.kind): the event log, the change
// stream's topics ("all/<kind>", "to/<host>/<kind>") and what striders and
// elrond subscribe to or act on.
//
// Contract: every component writes and matches event kinds through these
// names only (strings on the wire). Constants only: thread-safe.
#pragma once

namespace rv::event_kind {

inline constexpr char kHostEnrolled[] = "host.enrolled";
inline constexpr char kHostDrained[] = "host.drained";
inline constexpr char kHostUp[] = "host.up";
inline constexpr char kHostLost[] = "host.lost";
// The agent's connection closed: news within ms; its jobs move only after the
// grace (docs/SCEPTRE.md) unless it says hello again.
inline constexpr char kHostAgentGone[] = "host.agent_gone";
inline constexpr char kHostRecovered[] = "host.recovered";  // sceptre's boot report

inline constexpr char kJobPrefix[] = "job.";  // every job event is addressed to its host
inline constexpr char kJobSubmitted[] = "job.submitted";
inline constexpr char kJobAwarded[] = "job.awarded";
inline constexpr char kJobPlaced[] = "job.placed";
inline constexpr char kJobRevoked[] = "job.revoked";
inline constexpr char kJobPending[] = "job.pending";  // back to pending (its host was lost)
inline constexpr char kJobState[] = "job.state";      // a run-state report
inline constexpr char kJobStopped[] = "job.stopped";
inline constexpr char kJobReason[] = "job.reason";    // why it is still pending

inline constexpr char kConfigSet[] = "config.set";
inline constexpr char kConfigUnset[] = "config.unset";
inline constexpr char kOverlayChanged[] = "overlay.changed";  // detail: the hosts whose view changed
// An environment's set of AEADs in use changed (created, rotated to another
// AEAD, old epoch dropped). detail: "<env>=<aead>[,<aead>]" (split at the last
// '='). elrond keeps the map to tell bidders whether a job's environment needs
// AES-NI; sched.snapshot carries the whole map (Snapshot.env_aeads).
inline constexpr char kOverlayAead[] = "overlay.aead";
// An environment's names or certificates changed (docs/PROXY.md); detail: the
// env (TENANT/ENV). Its proxies re-ask host.proxy_certs, the edge edge.routes.
inline constexpr char kDomainsChanged[] = "domains.changed";
// What host.proxy_routes or host.proxy_certs answers for an environment may
// have changed (docs/PROXY.md "Refresh"); detail: "<env> <host>,<host>"
// (common/proxy_notice.h), addressed to each host listed: the hosts that run a
// proxy of the env. One per env per coalescing tick of sauron's loop.
inline constexpr char kProxyChanged[] = "proxy.changed";
// What edge.routes answers may have changed; rv-edge subscribes to
// "all/edge.changed". detail: empty.
inline constexpr char kEdgeChanged[] = "edge.changed";
// A log read for the host's strider (common/msg/logs.h): published only under
// to/<host>/log.wanted, never recorded; detail: an encoded msg::LogWant.
inline constexpr char kLogWanted[] = "log.wanted";
// A chunk of a one-off's stdin for the host's strider (common/msg/job_input.h):
// published only under to/<host>/input.wanted, never recorded; detail: an
// encoded msg::InputWant.
inline constexpr char kInputWanted[] = "input.wanted";
inline constexpr char kSecurityRefused[] = "security.refused";

}  // namespace rv::event_kind
