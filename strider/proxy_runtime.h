// What the strider says to, and reads from, a running environment proxy's
// HAProxy through its master CLI around reloads (docs/PROXY.md "What the
// strider does", the runtime API).
//
// A reload takes 60 ms on an idle host and up to ~450 ms under load (a new
// worker parses the files and loads the certificates). A replica that left
// the routes is taken out of rotation at once instead: `set server ... state
// maint` in every worker, old ones too (they still serve keep-alive clients),
// then the reload that drops it. New requests stop going to it; the ones in
// flight finish, as in a drain. When that was the whole change, it is live
// at once, and so is the same server coming back (a restarted replica, its
// address unchanged): `state ready` and `health up` (strider/proxy_reload.h).
// A new server (a new replica: every deploy, scale-up and re-placement) is
// added to the current worker with `add server` and is live at once too;
// the reload that follows a little later only makes the files and the
// worker one again.
//
// The apps' limits are map entries (strider/proxy_config.h): a change of
// them is `set map` / `add map` / `del map` in every worker, live at once,
// and no reload follows (the files on disk already hold it). So is a change
// of names and certificates alone (a custom domain of an app the proxy
// already routes, a certificate issued or renewed): `new`/`set`/`commit ssl
// cert`, `add`/`del ssl crt-list` and the hosts map, in the current worker.
//
// Pure: text in, text out; the caller owns the socket. Thread-safe.
#pragma once

#include "common/status.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace rv::strider {

// The master's reload count from `show proc` ("1 master 3 [failed: 0] ..."),
// -1 if there is none: a reload is done once it moved.
int64_t ProxyMasterReloads(const std::string& show_proc);

// The workers' PIDs (current and old) from the master CLI's `show proc`
// ("<pid> <type> <reloads> ..." lines; headers, the master and programs left
// out). Malformed lines are skipped.
std::vector<int64_t> ProxyWorkerPids(const std::string& show_proc);

// The current worker's PID (a worker that has seen no reload), -1 if none:
// the one whose every runtime change must be taken. Old workers only finish
// the connections they hold.
int64_t ProxyCurrentWorker(const std::string& show_proc);

// The servers ("backend/server") of `before` that `after` no longer has, in
// `before`'s order.
std::vector<std::string> ProxyServersGone(const std::vector<std::string>& before,
                                          const std::vector<std::string>& after);

// Whether `after` is `before` less the lines of `dropped` plus the lines of
// `added` ("backend/server": a "server NAME ..." line in section "backend
// BACKEND", and the server lines that `track` one of them), and nothing
// else. Then the runtime API applies the whole change: the dropped put in
// maintenance, the added added (ProxyAddServerCommands); the reload that
// follows changes nothing a client sees.
bool ProxyConfigOnlyChangesServers(const std::string& before, const std::string& after,
                                   const std::vector<std::string>& dropped, const std::vector<std::string>& added);

// The servers ("backend/server") of `cfg` that `track` `server`: an app's
// _body backend's twin of each replica.
std::vector<std::string> ProxyTrackers(const std::string& cfg, const std::string& server);

// The CLI lines that put `server` ("backend/server"), as `cfg` has it, into
// a worker's rotation (the caller sends each as "@!PID " + line on the
// master CLI, to the current worker): `add server` with its backend's
// default-server words, and the same for each server tracking it (HAProxy
// 2.6 cannot track a dynamic server, so those check on their own with the
// tracked one's settings); then, for each, `enable health` and `health up`
// (the strider routes only replicas sauron saw healthy) and `state ready`
// (a dynamic server starts in maintenance). The same servers give the same
// lines, so they also tell whether a server added earlier changed. NotFound
// if cfg has no such server; Invalid if a word could break a command (only
// [A-Za-z0-9._:/-]).
Result<std::vector<std::string>> ProxyAddServerCommands(const std::string& cfg, const std::string& server);

// What the strider changes of a server in a running worker.
enum class ProxyServerChange {
  kMaint,     // `state maint`: no new requests; those in flight finish
  kReady,     // `state ready`: out of maintenance (a replica that came back)
  kHealthUp,  // `health up`: the strider saw it healthy; checks go on from there
};

// The master-CLI line that makes `change` to `server` in worker `pid`. ""
// if the name could break the command (only [A-Za-z0-9._-] and one '/').
std::string ProxyServerCommand(int64_t pid, const std::string& server, ProxyServerChange change);

// The master-CLI lines that turn map file `before` into `after` (lines
// "KEY VALUE") in worker `pid`, for the map HAProxy loaded from `path`:
// `del map` for a key gone, `set map` for a key whose value changed (set, not
// add: add would put a second entry behind the first), `add map` for a new
// one. Empty when the maps hold the same entries. Invalid if a key, value or
// the path could break a command (keys: IsProxyName; values: digits).
Result<std::vector<std::string>> ProxyMapCommands(int64_t pid, const std::string& path, const std::string& before,
                                                  const std::string& after);

// Whether a worker's CLI answer to one of the commands above says it was
// done: a blank answer, or one of HAProxy's success lines ("New server
// registered.", "Success!", "Transaction created ...", ...) with no error
// line ("Can't ...", "unable ...", "No ongoing transaction").
bool ProxyCliTook(const std::string& answer);

// A proxy's names as HAProxy has them: its crt-list (certs.list: one line per
// certificate file, "PATH [alpn ...] NAME", the fallback first) and its hosts
// map (hosts.map: "NAME BACKEND").
struct ProxyNames {
  std::string crt_list;
  std::string hosts_map;
};

// The CLI lines (the caller sends each as "@!PID " + line, to the current
// worker) that turn `before`'s names into `after`'s when only names and
// certificates changed (`rv domains:add`, a certificate issued or renewed):
//  1. each certificate file in `certs` (path as HAProxy sees it -> its PEM:
//     the new and changed ones): `new ssl cert` if no crt-list line of
//     `before` has it, then `set ssl cert PATH <<` with the PEM as payload,
//     then `commit ssl cert`;
//  2. `add ssl crt-list` (payload: the line) for each line `after` added;
//  3. `del`/`set`/`add map` on the hosts map (values: backend names);
//  4. for each line `after` dropped: `del ssl crt-list`, then `del ssl cert`.
// A payload line ends at the first blank line, so PEMs hold none. Invalid
// if anything could break a command or is not a change of this kind (a line
// changed in place, a certificate for no line of `after`): then the reload
// carries it. The answer holds the keys in the clear: the caller wipes it.
Result<std::vector<std::string>> ProxyNameCommands(const std::string& crt_list_path, const std::string& hosts_map_path,
                                                   const ProxyNames& before, const ProxyNames& after,
                                                   const std::map<std::string, std::string>& certs);

}  // namespace rv::strider
