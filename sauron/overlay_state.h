// OverlayState: sauron's side of the encrypted overlay — IPAM,
// environment keys, and the per-host views striders turn into overlayd's
// control document. Contract:
//
//  * Membership comes from the change stream's job records: a job that is
//    `placed`, has an environment and an image (a container) is a member of
//    its environment on its host. Each member (job id + attempt) gets an
//    address from overlay::Ipam in the environment's subnet; when the attempt
//    stops being placed its address is released into quarantine
//    (quarantine_ms) before any other container may get it. A member whose
//    job was stopped (job state `stopped`: a rollout's cut-over, a scale
//    down, rv stop) keeps its address and route for linger_ms first: its host
//    drains a web replica (strider --drain-ms) before stopping the container,
//    and the env's proxies must still reach it over the overlay meanwhile.
//  * Each environment has an overlay number (TUN rvo-<n>, table 10000+n), a
//    subnet and one or two keys (epochs), each with its AEAD: AES-256-GCM
//    only if, when the epoch was made, every up host and every host running a
//    container of the env reported AES-NI, else ChaCha20-Poly1305. A rotation
//    chooses again (or takes the operator's forced choice), so an env moves to
//    ChaCha20-Poly1305 once a host without AES-NI is up; both ends switch with
//    the send epoch. While any held epoch is AES-256-GCM the env "needs
//    AES-NI": elrond tells bidders (overlay.aead events, Snapshot.env_aeads)
//    and ClaimRefusal() keeps a host without AES-NI from claiming its jobs. Keys are created here and stored encrypted (secretbox under the
//    master key file, 0600) in sauron's database; they leave sauron only
//    sealed to one host's public key (its CURVE key), in that host's view.
//  * ViewFor(host) holds only the environments with a container on that host,
//    so a host that no longer runs one is not given the keys again and its
//    strider drops the environment from overlayd (which wipes its keys).
//  * Rotate(env): step 1 adds epoch e+1 (hosts receive it, senders stay on e);
//    after switch_after_ms senders move to e+1; after key_grace_ms more epoch e
//    is dropped. Receivers accept both during the grace, so established TCP
//    connections survive. Tick() drives steps 2 and 3.
//  * Every mutation is written to SQLite before Flush()/Tick()/Rotate()
//    return; Open() restores everything after a restart.
//  * Not thread-safe: the daemon's loop owns it.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <tuple>
#include <set>
#include <string>
#include <vector>

#include "common/crypto/secretbox.h"
#include "common/msg/overlay.h"
#include "common/msg/protocol.h"
#include "common/status.h"
#include "overlay/aead.h"
#include "overlay/ipam.h"

namespace rv::sauron {

struct OverlayOptions {
  bool enabled = true;
  std::string pod_cidr = "10.240.0.0/16";
  int env_prefix_len = 24;
  int port = 7800;                  // overlayd's UDP port on every host
  int64_t quarantine_ms = 60000;    // an address is not reused before this
  int64_t linger_ms = 0;            // a stopped job's route stays this long (sauron: 3000)
  int64_t switch_after_ms = 1000;   // rotation: new epoch delivered -> senders switch
  int64_t key_grace_ms = 30000;     // rotation: senders switched -> old epoch dropped
  std::string master_key_path;      // secretbox key for env keys at rest (0600)
  // What containers may reach on their gateway (169.254.1.1, their own host):
  // "tcp/N" / "udp/N". Default none: the platform serves nothing there yet.
  std::vector<std::string> gateway_ports;
};

class OverlayState {
 public:
  // Opens its tables in the database at `db_path` (its own connection).
  static Result<std::unique_ptr<OverlayState>> Open(const std::string& db_path, OverlayOptions opts);
  ~OverlayState();
  OverlayState(const OverlayState&) = delete;
  OverlayState& operator=(const OverlayState&) = delete;

  const OverlayOptions& options() const { return opts_; }

  // Seeds membership from the placed jobs (at start).
  void Load(const std::vector<msg::JobRecord>& placed);
  // A committed change (job.* with its record): updates membership in memory.
  void OnChange(const msg::Change& c);
  // host.hello: remembers whether the host has AES-NI (persisted).
  Status OnHello(const std::string& host_id, bool aesni);
  // Applies pending membership changes (addresses, env creation with keys).
  // Returns the hosts whose view changed since the last call (membership or
  // Rotate); empty: nothing to announce.
  Result<std::set<std::string>> Flush(const std::vector<msg::HostRecord>& hosts, int64_t now_ms);
  // Whether Flush has anything to do (saves copying the host list each turn).
  bool NeedsFlush() const { return dirty_ || !announce_.empty() || lingering_ > 0; }
  // Rotation steps 2 and 3 when due; returns the hosts whose view changed.
  Result<std::set<std::string>> Tick(int64_t now_ms);
  // forced_aead: "" = choose from `hosts` (see above); else the new epoch's
  // AEAD (aes256gcm is refused while a host of the env lacks AES-NI).
  Result<msg::RotateKeyResult> Rotate(const std::string& env, const std::vector<msg::HostRecord>& hosts,
                                      int64_t now_ms, const std::string& forced_aead = "");

  // The AEADs `env`'s keys use now, sorted, comma separated ("" = no network).
  std::string AeadsOf(const std::string& env) const;
  // Every env's AeadsOf (Snapshot.env_aeads).
  std::map<std::string, std::string> EnvAeads() const;
  // Envs whose AeadsOf changed since the last call (env -> AeadsOf), for the
  // overlay.aead change events.
  std::map<std::string, std::string> TakeAeadChanges();
  // Why `host_id` must not claim a job of `env` (its overlay needs AES-NI the
  // host did not report), or "" if it may.
  std::string ClaimRefusal(const std::string& host_id, const std::string& env) const;

  Result<msg::OverlayView> ViewFor(const std::string& host_id, const std::vector<msg::HostRecord>& hosts);
  // Every member of every environment (or of `env`), for operators and tests.
  std::vector<msg::OverlayEnv> Listing(const std::string& env) const;
  int64_t version() const { return version_; }

 private:
  struct Member {
    std::string env;
    int64_t attempt = 0;
    std::string host_id;
  };
  struct EnvKeyRow {
    uint32_t epoch = 0;
    overlay::Key key{};
    overlay::AeadKind aead = overlay::AeadKind::kChaCha20Poly1305;
  };
  struct Env {
    std::string name;
    uint32_t num = 0;
    std::string aead;                // the send epoch's
    uint32_t send_epoch = 0;
    std::vector<EnvKeyRow> keys;     // ascending epoch, at most two
    int64_t switch_at_ms = 0;        // 0: no rotation step pending
    int64_t forget_at_ms = 0;
  };
  struct Addr {                      // an allocated address of a member
    std::string env;
    std::string owner;               // job_id#attempt
    std::string host_id;
    std::string job_id;
    int64_t attempt = 0;
    uint32_t addr = 0;
    int64_t linger_until_ms = 0;     // stopped: released once this passed (0 = a member)
  };

  OverlayState(sqlite3* db, OverlayOptions o, overlay::Ipam ipam, crypto::SecretBoxKey mk)
      : db_(db), opts_(std::move(o)), ipam_(std::move(ipam)), master_(std::move(mk)) {}
  Status Init();
  Status Exec(const std::string& sql);
  Status SaveEnv(const Env& e);
  Status SaveHost(const std::string& host_id);
  Status SaveIpam();
  Status SaveAddrs();
  Result<Env*> EnsureEnv(const std::string& name, const std::vector<msg::HostRecord>& hosts, int64_t now_ms);
  uint32_t HostNum(const std::string& host_id);
  bool HasAesni(const std::string& host_id) const;
  // AES-GCM iff every up host in `hosts` and every host of `env` has AES-NI.
  overlay::AeadKind Choose(const std::string& env, const std::vector<msg::HostRecord>& hosts) const;
  void NoteAeads(const std::string& env);
  std::set<std::string> HostsOf(const std::string& env) const;
  Result<std::string> SealedFor(const msg::HostRecord& host, const Env& e, const EnvKeyRow& k);

  sqlite3* db_;
  OverlayOptions opts_;
  overlay::Ipam ipam_;
  crypto::SecretBoxKey master_;
  std::map<std::string, Member> members_;        // job id -> what it should be
  std::map<std::string, int64_t> stopped_;       // job id -> attempt that left as `stopped`
  int lingering_ = 0;                            // addrs_ with linger_until_ms set
  bool dirty_ = false;
  std::map<std::string, Env> envs_;              // env name -> env
  std::map<std::string, Addr> addrs_;            // job id -> allocated address
  std::map<std::string, uint32_t> host_nums_;
  std::map<std::string, bool> aesni_;
  std::set<std::string> announce_;               // hosts to tell at the next Flush (rotation)
  std::map<std::string, std::string> aead_told_; // env -> AeadsOf last reported by TakeAeadChanges
  std::set<std::string> aead_dirty_;             // envs whose AEAD set may have changed
  // (host public key, env, epoch) -> sealed blob: views stay byte-identical
  // between changes so striders only re-apply what changed.
  std::map<std::tuple<std::string, uint32_t, uint32_t>, std::string> sealed_cache_;
  int64_t version_ = 0;
};

}  // namespace rv::sauron
